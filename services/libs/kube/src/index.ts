export { KubeClients } from './client';
export { describeKubeError, isConflict, isNotFound, statusOf } from './errors';
export { Helm, HelmError } from './helm';
export type { HelmCallOptions, HelmOptions, HelmRelease } from './helm';
export { ResilientInformer } from './informer';
export { JITTER_FACTOR, kubeLeaseApi, LeaderElector, leaderIdentity, monotonicClock } from './leader-election';
export type { Clock, LeaderCallbacks, LeaderElectorOptions, LeaseApi } from './leader-election';
export {
  LEADER_ELECTION,
  leaderElectionFromEnv,
  Leadership,
  NotLeadingError,
  SERVICE_ACCOUNT_NAMESPACE_FILE,
} from './leadership';
export type { LeaderElectionSettings, LeaderTask } from './leadership';
export type { ResilientInformerOptions } from './informer';
export { labels, namespaceOf, STORE, STORE_FINALIZER, storeLabels, storeNameOf, withCondition } from './store';
export type {
  ConditionStatus,
  ConditionType,
  Phase,
  Plan,
  Store,
  StoreCondition,
  StoreHistoryEntry,
  StoreSpec,
  StoreStatus,
} from './store';
export { storeConditions, storeIdentity, storeUrl } from './store-events';
export { STORE_EVENTS_NAMESPACE, StoreRecorder } from './store-recorder';
export type { StoreNote } from './store-recorder';
export { WorkQueue, WorkQueueMetrics } from './work-queue';
export type { ReconcileResult, WorkQueueOptions } from './work-queue';
export { createStore, deleteStore, readStore, storeInformer, updateStoreStatus } from './store-api';
