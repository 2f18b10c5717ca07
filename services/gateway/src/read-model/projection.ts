import {
  Condition,
  create,
  CreateStoreCommand,
  DeleteStoreCommand,
  encode,
  Step,
  StepRecord,
  Store,
  StoreSchema,
  StoreStatusChanged,
  StepRecordSchema,
  Timestamp,
  timestampDate,
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
 * How far along its life a step puts a store. A store never moves back to an earlier phase, so a late
 * or re-announced event (an `approved` published again after the dedupe window) cannot undo a later
 * step. Failed and Deleting share the last phase, where the newer event wins: a failed store can be
 * deleted, and a deletion can fail. A rejection does not override a deletion.
 */
const PHASES: Readonly<Record<Step, number>> = {
  [Step.UNSPECIFIED]: 0,
  [Step.QUEUED]: 1,
  [Step.APPROVED]: 2,
  [Step.NAMESPACE_READY]: 3,
  [Step.SECRETS_READY]: 4,
  [Step.WORKLOAD_INSTALLED]: 5,
  [Step.READY]: 6,
  [Step.REJECTED]: 7,
  [Step.FAILED]: 8,
  [Step.DELETING]: 8,
  [Step.DELETED]: 9,
};

/** Steps a store can reach more than once (fail, be deleted, fail to delete, be deleted again). */
const REPEATABLE: ReadonlySet<Step> = new Set([Step.FAILED, Step.DELETING]);

/**
 * Applies one event to a store's read-model record. The store's step is that of its event with the
 * highest (phase, stream sequence), and its timeline is the set of its steps ordered by time: so the
 * record is the same whatever order the events are applied in (gateway replicas sharing one durable
 * consumer apply them out of order), and applying an event twice changes nothing. `lastSequence` is
 * the stream sequence of the event that set the current step.
 */
export function project(current: Store | undefined, event: StoreEvent): Projection {
  const next = apply(current, event);
  if (next === 'remove') return { action: 'remove' };
  if (!next || (current && sameStore(current, next))) return KEEP;
  return { action: 'put', store: next };
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

function apply(current: Store | undefined, event: StoreEvent): Store | 'remove' | undefined {
  switch (event.kind) {
    case 'create': {
      if (!current) return queuedStore(event.command, event.sequence);
      const createdAt = earliest(current.createdAt, event.command.requestedAt);
      return advance({ ...current, createdAt }, Step.QUEUED, event.sequence, { at: event.command.requestedAt });
    }
    case 'delete':
      // Never seen: the gateway writes a store's record before it accepts any request for it.
      if (!current) return undefined;
      return advance(current, Step.DELETING, event.sequence, { at: event.command.requestedAt });
    case 'status': {
      const { event: status, sequence } = event;
      if (status.step === Step.DELETED) return 'remove';
      const base =
        current ??
        create(StoreSchema, {
          id: status.storeId,
          name: status.name,
          engine: status.engine,
          owner: status.owner,
          namespace: status.namespace || `store-${status.name}`,
          createdAt: status.occurredAt,
        });
      return advance(
        { ...base, url: base.url || status.url, namespace: base.namespace || status.namespace },
        status.step,
        sequence,
        { at: status.occurredAt, reason: status.reason, message: status.message, conditions: status.conditions },
      );
    }
  }
}

interface StepNews {
  readonly at: Timestamp | undefined;
  readonly reason?: string;
  readonly message?: string;
  readonly conditions?: readonly Condition[];
}

function advance(store: Store, step: Step, sequence: bigint, news: StepNews): Store {
  const record = create(StepRecordSchema, { step, at: news.at, reason: news.reason, message: news.message });
  const wins =
    PHASES[step] > PHASES[store.step] || (PHASES[step] === PHASES[store.step] && sequence > store.lastSequence);
  if (!wins) {
    // An earlier step applied late belongs in the timeline; one announced again after the store moved on does not.
    const history =
      millis(news.at) <= millis(reachedAt(store)) ? withRecord(store.history, record) : [...store.history];
    return { ...store, history, conditions: mergeConditions(store.conditions, news.conditions ?? [], 'newer') };
  }
  // The same step again with nothing new (a delete re-issued) is one stay in it, not another.
  if (step === store.step && !news.reason && !news.message && !news.conditions?.length) {
    return { ...store, lastSequence: sequence };
  }
  return {
    ...store,
    step,
    reason: news.reason ?? '',
    message: news.message ?? '',
    conditions: mergeConditions(store.conditions, news.conditions ?? [], 'all'),
    history: step === store.step ? [...store.history] : withRecord(store.history, record),
    updatedAt: latest(store.updatedAt, news.at),
    lastSequence: sequence,
  };
}

/** When the store last reached its current step. */
function reachedAt(store: Store): Timestamp | undefined {
  return store.history
    .filter((h) => h.step === store.step)
    .reduce<Timestamp | undefined>((at, h) => latest(at, h.at), undefined);
}

/** The timeline, oldest first: one record per step (its first time), except the steps a store can reach again. */
function withRecord(history: readonly StepRecord[], record: StepRecord): StepRecord[] {
  const at = millis(record.at);
  if (REPEATABLE.has(record.step)) {
    if (history.some((h) => h.step === record.step && millis(h.at) === at)) return [...history];
    return byTime([...history, record]);
  }
  const known = history.find((h) => h.step === record.step);
  if (known && millis(known.at) <= at) return [...history];
  return byTime([...history.filter((h) => h.step !== record.step), record]);
}

function byTime(history: StepRecord[]): StepRecord[] {
  return history.sort((a, b) => millis(a.at) - millis(b.at) || PHASES[a.step] - PHASES[b.step]);
}

function mergeConditions(
  current: readonly Condition[],
  updates: readonly Condition[],
  which: 'all' | 'newer',
): Condition[] {
  const byType = new Map(current.map((c) => [c.type, c]));
  for (const update of updates) {
    const known = byType.get(update.type);
    if (which === 'all' || !known || millis(update.lastTransitionTime) > millis(known.lastTransitionTime)) {
      byType.set(update.type, update);
    }
  }
  return [...byType.values()];
}

function sameStore(a: Store, b: Store): boolean {
  return JSON.stringify(encode(StoreSchema, a)) === JSON.stringify(encode(StoreSchema, b));
}

function millis(at: Timestamp | undefined): number {
  return at ? timestampDate(at).getTime() : 0;
}

function earliest(a: Timestamp | undefined, b: Timestamp | undefined): Timestamp | undefined {
  if (!a || !b) return a ?? b;
  return millis(b) < millis(a) ? b : a;
}

function latest(a: Timestamp | undefined, b: Timestamp | undefined): Timestamp | undefined {
  if (!a || !b) return a ?? b;
  return millis(b) > millis(a) ? b : a;
}
