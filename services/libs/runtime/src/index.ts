export { ConfigError, envInt, envJson, envList, envNumber, envString } from './config';
export { createHttpApp } from './http-app';
export { createLogger, JsonLogger } from './logger';
export { metricSamples, metricValuesBy } from './metric-samples';
export type { MetricSample } from './metric-samples';
export { MetricsServer, OperationsModule, READINESS_CHECKS, ShutdownState } from './operations.module';
export type { MetricsListener, OperationsOptions, ReadinessChecks } from './operations.module';
export { sourceKey, UNKNOWN_SOURCE } from './source-key';
