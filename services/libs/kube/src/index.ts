export { KubeClients } from './client';
export { describeKubeError, isConflict, isNotFound, statusOf } from './errors';
export { Helm, HelmError } from './helm';
export type { HelmOptions, HelmRelease } from './helm';
export { ResilientInformer } from './informer';
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
export { WorkQueue } from './work-queue';
export type { ReconcileResult, WorkQueueOptions } from './work-queue';
export { createStore, deleteStore, readStore, storeInformer, updateStoreStatus } from './store-api';
