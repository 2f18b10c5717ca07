import {
  Condition,
  ConditionSchema,
  create,
  Engine,
  EngineName,
  engineNames,
  timestampFromDate,
} from '@urumi/contracts';
import type { StoreIdentity } from '@urumi/messaging';
import { namespaceOf, Store } from './store';

/** Where a store is served, as status events and the Store's status report it. */
export function storeUrl(store: Store, scheme: string): string {
  return `${scheme}://${store.spec.domain}`;
}

/** A Store as its status events name it. */
export function storeIdentity(store: Store, urlScheme = 'http'): StoreIdentity {
  return {
    storeId: store.spec.storeId,
    name: store.metadata.name,
    engine: engineNames[store.spec.engine as EngineName] ?? Engine.UNSPECIFIED,
    owner: store.spec.owner,
    requestId: store.spec.requestId ?? '',
    url: storeUrl(store, urlScheme),
    namespace: namespaceOf(store.metadata.name),
  };
}

/** A Store's conditions as its status events carry them. */
export function storeConditions(store: Store): Condition[] {
  return (store.status?.conditions ?? []).map((c) =>
    create(ConditionSchema, {
      type: c.type,
      status: c.status,
      reason: c.reason,
      message: c.message,
      lastTransitionTime: timestampFromDate(new Date(c.lastTransitionTime)),
    }),
  );
}
