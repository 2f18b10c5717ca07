export * from './gen/urumi/store/v1/store_pb';
export * from './gen/urumi/store/v1/commands_pb';
export * from './gen/urumi/store/v1/events_pb';
export { create, isMessage } from '@bufbuild/protobuf';
export { timestampDate, timestampFromDate, timestampNow } from '@bufbuild/protobuf/wkt';
export type { Timestamp } from '@bufbuild/protobuf/wkt';
export { decode, encode } from './codec';
export { buckets, streams, subjects } from './subjects';
export { engineLabels, engineName, engineNames, isTerminal, stepLabel, stepSlug } from './steps';
export type { EngineName } from './steps';
export * from './store-name';
export type {
  AuditItem,
  AuditPage,
  ConditionView,
  ConsumerLagView,
  EngineRuns,
  EngineView,
  FailureView,
  LiveMessage,
  Me,
  PlatformView,
  StageView,
  StepView,
  StoreList,
  StoreView,
} from './api';
