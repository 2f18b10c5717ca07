import {
  Condition,
  create,
  CreateStoreCommand,
  DeleteStoreCommand,
  Step,
  Store,
  StoreSchema,
  StoreStatusChanged,
  StepRecordSchema,
  Timestamp,
} from '@urumi/contracts';

/** One event from the STORES stream, decoded, with the stream sequence it was stored at. */
export type StoreEvent =
  | { readonly kind: 'create'; readonly sequence: bigint; readonly command: CreateStoreCommand }
  | { readonly kind: 'delete'; readonly sequence: bigint; readonly command: DeleteStoreCommand }
  | { readonly kind: 'status'; readonly sequence: bigint; readonly event: StoreStatusChanged };

/** What applying an event does to the read model: keep, put a new version, or remove the store. */
export type Projection =
  { readonly action: 'keep' } | { readonly action: 'put'; readonly store: Store } | { readonly action: 'remove' };

const KEEP: Projection = { action: 'keep' };

/**
 * Applies one event to a store's read-model record. Pure and idempotent: an event at or below the
 * record's last sequence (a redelivery, a replay) changes nothing, so it is safe to apply twice.
 */
export function project(current: Store | undefined, event: StoreEvent): Projection {
  if (current && current.lastSequence >= event.sequence) return KEEP;
  switch (event.kind) {
    case 'create':
      return {
        action: 'put',
        store: current ? { ...current, lastSequence: event.sequence } : queuedStore(event.command, event.sequence),
      };
    case 'delete':
      if (!current) return KEEP;
      return { action: 'put', store: withStep(current, Step.DELETING, event.command.requestedAt, event.sequence) };
    case 'status':
      return projectStatus(current, event.event, event.sequence);
  }
}

export function queuedStore(command: CreateStoreCommand, sequence: bigint): Store {
  return create(StoreSchema, {
    id: command.storeId,
    name: command.name,
    engine: command.engine,
    owner: command.owner,
    step: Step.QUEUED,
    history: [create(StepRecordSchema, { step: Step.QUEUED, at: command.requestedAt })],
    namespace: `store-${command.name}`,
    createdAt: command.requestedAt,
    updatedAt: command.requestedAt,
    lastSequence: sequence,
  });
}

function projectStatus(current: Store | undefined, event: StoreStatusChanged, sequence: bigint): Projection {
  if (event.step === Step.DELETED) return { action: 'remove' };
  const base =
    current ??
    create(StoreSchema, {
      id: event.storeId,
      name: event.name,
      engine: event.engine,
      owner: event.owner,
      namespace: event.namespace || `store-${event.name}`,
      createdAt: event.occurredAt,
    });
  // Once deletion is asked for, late provisioning news is history, not the store's step.
  const step = base.step === Step.DELETING && event.step !== Step.FAILED ? Step.DELETING : event.step;
  const record = create(StepRecordSchema, {
    step: event.step,
    at: event.occurredAt,
    reason: event.reason,
    message: event.message,
  });
  return {
    action: 'put',
    store: {
      ...base,
      step,
      reason: event.reason,
      message: event.message,
      conditions: event.conditions.length ? mergeConditions(base.conditions, event.conditions) : base.conditions,
      url: event.url || base.url,
      namespace: event.namespace || base.namespace,
      history: [...base.history, record],
      updatedAt: event.occurredAt,
      lastSequence: sequence,
    },
  };
}

function withStep(store: Store, step: Step, at: Timestamp | undefined, sequence: bigint): Store {
  if (store.step === step) return { ...store, lastSequence: sequence };
  return {
    ...store,
    step,
    reason: '',
    message: '',
    history: [...store.history, create(StepRecordSchema, { step, at })],
    updatedAt: at,
    lastSequence: sequence,
  };
}

function mergeConditions(current: readonly Condition[], updates: readonly Condition[]): Condition[] {
  const byType = new Map(current.map((c) => [c.type, c]));
  for (const update of updates) byType.set(update.type, update);
  return [...byType.values()];
}
