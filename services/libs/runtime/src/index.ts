export { ConfigError, envInt, envJson, envList, envString } from './config';
export { createLogger, JsonLogger } from './logger';
export { OperationsModule, READINESS_CHECKS } from './operations.module';
export type { OperationsOptions, ReadinessChecks } from './operations.module';
