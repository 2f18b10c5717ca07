import type { V1Secret } from '@kubernetes/client-node';
import { isConflict, isNotFound, KubeClients, namespaceOf, Store, storeLabels } from '@urumi/kube';
import { randomBytes } from 'node:crypto';

/** The Secret, in the store's namespace, that holds the engine's generated credentials. */
export const CREDENTIALS_SECRET = 'store-credentials';

/** 32 random bytes, URL-safe: strong, and harmless in any config file or connection string. */
const generate = (): string => randomBytes(32).toString('base64url');

/**
 * Makes sure the store's credentials Secret holds a value for every key its engine needs. Existing
 * values are never replaced (the database already uses them); missing keys are added. The values
 * stay in the store's namespace: nothing here logs or returns them.
 */
export async function ensureCredentials(
  kube: KubeClients,
  store: Store,
  keys: readonly string[],
): Promise<'created' | 'completed' | 'unchanged'> {
  const namespace = namespaceOf(store.metadata.name);
  let existing: V1Secret | undefined;
  try {
    existing = await kube.core.readNamespacedSecret({ name: CREDENTIALS_SECRET, namespace });
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  if (!existing) {
    const body: V1Secret = {
      metadata: { name: CREDENTIALS_SECRET, namespace, labels: storeLabels(store) },
      type: 'Opaque',
      stringData: Object.fromEntries(keys.map((key) => [key, generate()])),
    };
    try {
      await kube.core.createNamespacedSecret({ namespace, body });
      return 'created';
    } catch (error) {
      // Created in the meantime (a repeated reconcile): the next look completes it if needed.
      if (isConflict(error)) return 'unchanged';
      throw error;
    }
  }
  const missing = keys.filter((key) => !existing.data?.[key]);
  if (missing.length === 0) return 'unchanged';
  const data = { ...existing.data };
  for (const key of missing) data[key] = Buffer.from(generate()).toString('base64');
  await kube.core.replaceNamespacedSecret({ name: CREDENTIALS_SECRET, namespace, body: { ...existing, data } });
  return 'completed';
}
