import { isDeepStrictEqual } from 'node:util';
import { KubeClients } from './client';
import { isNotFound } from './errors';
import { ResilientInformer } from './informer';
import { STORE, Store, StoreStatus } from './store';

const ref = { group: STORE.group, version: STORE.version, plural: STORE.plural };

/** An informer over every Store. */
export function storeInformer(
  kube: KubeClients,
  onChange: (store: Store, deleted: boolean) => void,
  onError: (error: unknown) => void,
): ResilientInformer<Store> {
  return new ResilientInformer<Store>(kube.config, {
    path: `/apis/${STORE.group}/${STORE.version}/${STORE.plural}`,
    list: () => kube.custom.listClusterCustomObject(ref),
    onChange,
    onError,
  });
}

/**
 * Writes a Store's status with these changes, guarded by the resource version: a writer with a stale
 * view gets a conflict and retries from fresh state. Nothing is written when nothing changes.
 */
export async function updateStoreStatus(
  kube: KubeClients,
  store: Store,
  changes: Partial<StoreStatus>,
): Promise<Store> {
  const status = { ...store.status, ...changes };
  if (isDeepStrictEqual(status, store.status)) return store;
  return (await kube.custom.replaceClusterCustomObjectStatus({
    ...ref,
    name: store.metadata.name,
    body: { ...store, status },
  })) as Store;
}

export async function readStore(kube: KubeClients, name: string): Promise<Store | undefined> {
  try {
    return (await kube.custom.getClusterCustomObject({ ...ref, name })) as Store;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** Asks for a Store's deletion (its finalizer then holds it until teardown is done); gone already is fine. */
export async function deleteStore(kube: KubeClients, name: string): Promise<void> {
  try {
    await kube.custom.deleteClusterCustomObject({ ...ref, name });
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}

export async function createStore(kube: KubeClients, body: Store): Promise<void> {
  await kube.custom.createClusterCustomObject({ ...ref, body });
}
