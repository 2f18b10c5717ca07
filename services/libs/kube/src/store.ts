import type { KubernetesObject, V1ObjectMeta } from '@kubernetes/client-node';

/** The Store custom resource (charts/platform/crds/stores.urumi.dev.yaml). */
export const STORE = {
  group: 'urumi.dev',
  version: 'v1',
  plural: 'stores',
  kind: 'Store',
  apiVersion: 'urumi.dev/v1',
} as const;

/** Held on every Store until cleanup has removed everything the store had. */
export const STORE_FINALIZER = 'urumi.dev/teardown';

export const labels = {
  managedBy: 'app.kubernetes.io/managed-by',
  store: 'urumi.dev/store',
  storeId: 'urumi.dev/store-id',
} as const;

/** Labels every object the platform makes for a store carries; the orphan sweep and the tests select on them. */
export function storeLabels(store: Pick<Store, 'metadata' | 'spec'>): Record<string, string> {
  return { [labels.managedBy]: 'urumi', [labels.store]: store.metadata.name, [labels.storeId]: store.spec.storeId };
}

export const namespaceOf = (storeName: string): string => `store-${storeName}`;

/** The store's name from its namespace, or undefined for a namespace that isn't a store's. */
export function storeNameOf(namespace: string): string | undefined {
  return namespace.startsWith('store-') ? namespace.slice('store-'.length) : undefined;
}

export type Plan = 'small' | 'medium' | 'large';
export type Phase = 'Provisioning' | 'Ready' | 'Failed' | 'Deleting';
export type ConditionType = 'Ready' | 'Progressing' | 'Degraded';
export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface StoreSpec {
  storeId: string;
  engine: string;
  owner: string;
  plan?: Plan;
  domain: string;
  requestId?: string;
}

export interface StoreCondition {
  type: ConditionType;
  status: ConditionStatus;
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime: string;
}

export interface StoreHistoryEntry {
  step: string;
  at: string;
  reason?: string;
  message?: string;
}

export interface StoreStatus {
  observedGeneration?: number;
  phase?: Phase;
  step?: string;
  url?: string;
  namespace?: string;
  provisioningStartedAt?: string;
  workloadRevision?: string;
  history?: StoreHistoryEntry[];
  conditions?: StoreCondition[];
}

export interface Store extends KubernetesObject {
  metadata: V1ObjectMeta & { name: string };
  spec: StoreSpec;
  status?: StoreStatus;
}

/**
 * Sets one condition, metav1.Condition style: lastTransitionTime moves only when the status flips.
 * Returns the new list; the input is not changed.
 */
export function withCondition(
  conditions: readonly StoreCondition[] | undefined,
  next: Omit<StoreCondition, 'lastTransitionTime'>,
  now: Date,
): StoreCondition[] {
  const list = [...(conditions ?? [])];
  const index = list.findIndex((c) => c.type === next.type);
  const previous = index >= 0 ? list[index] : undefined;
  const lastTransitionTime =
    previous && previous.status === next.status ? previous.lastTransitionTime : now.toISOString();
  const condition: StoreCondition = { ...next, lastTransitionTime };
  if (index >= 0) list[index] = condition;
  else list.push(condition);
  return list;
}
