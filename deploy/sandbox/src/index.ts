export { renderChartNats, startChartNats } from './chart-nats';
export type { RenderedNats } from './chart-nats';
export { NatsCluster } from './nats-cluster';
export { CLUSTER_DNS, INGRESS_CONTROLLER } from './node/addons';
export { REAL_NODE_LABEL, REAL_NODE_TAINT } from './node/plan';
export type { NatsClusterOptions, NatsServerPorts } from './nats-cluster';
export { Platform, PLATFORM_NAMESPACE, SANDBOX_LEADER_ELECTION_ENV, SERVICE_NODE_FLAGS, SERVICES } from './platform';
export type {
  OperatorName,
  PlatformInfo,
  PlatformNats,
  PlatformOptions,
  ServiceName,
  UnexpectedExit,
} from './platform';
export { Prometheus, prometheusConfig, writeChartAlertRules } from './prometheus';
export type { PrometheusOptions, Sample, ScrapeTarget } from './prometheus';
export type { SeededUser } from './tokens';
export { Sandbox, conventionalPorts } from './sandbox';
export type { ComponentStatus, Ports, SandboxOptions } from './sandbox';
export { ensureToolchain } from './toolchain';
export type { Toolchain } from './toolchain';
export { eventually } from './testing/eventually';
export { httpRequest, MedusaShopper } from './testing/medusa-shopper';
export type { AdminView, HttpAnswer, PlacedOrder, StoreAddress } from './testing/medusa-shopper';
export { scratchFile } from './testing/scratch-file';
export { TcpProxy } from './testing/tcp-proxy';
export { testSandbox } from './testing/test-sandbox';
export { versions } from './versions';
