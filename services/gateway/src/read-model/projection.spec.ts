import {
  ConditionSchema,
  create,
  CreateStoreCommandSchema,
  DeleteStoreCommandSchema,
  Engine,
  Step,
  Store,
  StoreStatusChangedSchema,
  timestampFromDate,
} from '@urumi/contracts';
import { project, queuedStore, StoreEvent } from './projection';

const at = (minute: number) => timestampFromDate(new Date(Date.UTC(2026, 10, 27, 10, minute)));

const createEvent = (sequence: bigint): StoreEvent => ({
  kind: 'create',
  sequence,
  command: create(CreateStoreCommandSchema, {
    storeId: 's-1',
    name: 'shop',
    engine: Engine.MEDUSA,
    owner: 'alice',
    requestedAt: at(0),
  }),
});

type StatusExtra = { reason?: string; url?: string; conditions?: ReturnType<typeof health> };

const statusEvent = (sequence: bigint, step: Step, extra: StatusExtra = {}): StoreEvent => ({
  kind: 'status',
  sequence,
  event: create(StoreStatusChangedSchema, {
    storeId: 's-1',
    name: 'shop',
    engine: Engine.MEDUSA,
    owner: 'alice',
    step,
    occurredAt: at(Number(sequence)),
    ...extra,
  }),
});

/** The Ready and Degraded conditions of a Ready store, as the provisioner announces them, changed at `minute`. */
const health = (minute: number, problem?: { reason: string; message: string }) => [
  create(ConditionSchema, {
    type: 'Ready',
    status: problem ? 'False' : 'True',
    reason: problem?.reason ?? 'StoreReady',
    message: problem?.message ?? 'serving at http://shop.example',
    lastTransitionTime: at(minute),
  }),
  create(ConditionSchema, {
    type: 'Degraded',
    status: problem ? 'True' : 'False',
    reason: problem?.reason ?? 'AsExpected',
    message: problem?.message ?? '',
    lastTransitionTime: at(minute),
  }),
];
const unavailable = { reason: 'WorkloadUnavailable', message: 'Deployment store-server: 1 of 1 replicas unavailable' };
const conditionsOf = (store: Store) => Object.fromEntries(store.conditions.map((c) => [c.type, [c.status, c.message]]));

const deleteEvent = (sequence: bigint): StoreEvent => ({
  kind: 'delete',
  sequence,
  command: create(DeleteStoreCommandSchema, {
    storeId: 's-1',
    name: 'shop',
    owner: 'alice',
    requestedAt: at(Number(sequence)),
  }),
});

function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((item, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]),
  );
}

function put(result: ReturnType<typeof project>) {
  if (result.action !== 'put') throw new Error(`expected put, got ${result.action}`);
  return result.store;
}

describe(project.name, () => {
  it('creates a Queued store from the create command', () => {
    const sut = put(project(undefined, createEvent(1n)));

    expect(sut).toMatchObject({
      id: 's-1',
      name: 'shop',
      owner: 'alice',
      step: Step.QUEUED,
      namespace: 'store-shop',
      lastSequence: 1n,
    });
    expect(sut.history.map((h) => h.step)).toEqual([Step.QUEUED]);
  });

  it('walks the steps and keeps the timeline, the reason and the URL', () => {
    let store = put(project(undefined, createEvent(1n)));
    store = put(project(store, statusEvent(2n, Step.APPROVED)));
    store = put(project(store, statusEvent(3n, Step.READY, { url: 'http://shop.example' })));

    expect(store.step).toBe(Step.READY);
    expect(store.url).toBe('http://shop.example');
    expect(store.history.map((h) => h.step)).toEqual([Step.QUEUED, Step.APPROVED, Step.READY]);
  });

  it('ignores an event it has already applied (a redelivery or a replay)', () => {
    const store = put(project(put(project(undefined, createEvent(1n))), statusEvent(2n, Step.APPROVED)));

    expect(project(store, statusEvent(2n, Step.APPROVED))).toEqual({ action: 'keep' });
    expect(project(store, createEvent(1n))).toEqual({ action: 'keep' });
  });

  it('stays Deleting when late provisioning news arrives after the delete', () => {
    let store = put(project(undefined, createEvent(1n)));
    store = put(project(store, deleteEvent(2n)));

    expect(project(store, statusEvent(3n, Step.NAMESPACE_READY))).toEqual({ action: 'keep' });
    expect(store.step).toBe(Step.DELETING);
    expect(store.history.map((h) => h.step)).toEqual([Step.QUEUED, Step.DELETING]);
  });

  it('removes the store when it is deleted, and ignores a delete for a store it never saw', () => {
    const store = put(project(undefined, createEvent(1n)));

    expect(project(store, statusEvent(2n, Step.DELETED))).toEqual({ action: 'remove' });
    expect(project(undefined, deleteEvent(5n))).toEqual({ action: 'keep' });
  });

  it('builds a store from a status event when the create was never seen', () => {
    const sut = put(project(undefined, statusEvent(7n, Step.REJECTED, { reason: 'QuotaExceeded' })));

    expect(sut).toMatchObject({ id: 's-1', step: Step.REJECTED, reason: 'QuotaExceeded', lastSequence: 7n });
  });

  it('ends in the same record whatever order its events are applied in', () => {
    const events = [
      createEvent(1n),
      statusEvent(2n, Step.APPROVED),
      statusEvent(3n, Step.NAMESPACE_READY),
      statusEvent(4n, Step.READY, { url: 'http://shop.example' }),
      deleteEvent(5n),
    ];
    const applyAll = (order: StoreEvent[]) =>
      order.reduce<Store | undefined>((store, event) => {
        const result = project(store, event);
        return result.action === 'put' ? result.store : store;
      }, undefined);
    const inOrder = applyAll(events);

    for (const order of permutations(events).filter((order) => order[0]?.kind !== 'delete')) {
      expect(applyAll(order)).toEqual(inOrder);
    }
    expect(inOrder).toMatchObject({ step: Step.DELETING, url: 'http://shop.example', lastSequence: 5n });
    expect(inOrder?.history.map((h) => h.step)).toEqual([
      Step.QUEUED,
      Step.APPROVED,
      Step.NAMESPACE_READY,
      Step.READY,
      Step.DELETING,
    ]);
  });

  it('keeps a Ready store Ready when an earlier step is announced again later', () => {
    let store = put(project(undefined, createEvent(1n)));
    store = put(project(store, statusEvent(2n, Step.APPROVED)));
    store = put(project(store, statusEvent(3n, Step.READY)));

    expect(project(store, statusEvent(9n, Step.APPROVED))).toEqual({ action: 'keep' });
  });

  it('shows the newer of Failed and Deleting, and never lets a rejection undo a deletion', () => {
    let store = put(project(undefined, createEvent(1n)));
    store = put(project(store, statusEvent(2n, Step.FAILED, { reason: 'ProvisioningTimeout' })));
    store = put(project(store, deleteEvent(3n)));
    expect(store).toMatchObject({ step: Step.DELETING, reason: '' });

    store = put(project(store, statusEvent(4n, Step.FAILED, { reason: 'TeardownFailed' })));
    expect(store).toMatchObject({ step: Step.FAILED, reason: 'TeardownFailed' });

    store = put(project(store, deleteEvent(5n)));
    expect(project(store, statusEvent(6n, Step.REJECTED))).toEqual({ action: 'keep' });
    expect(store.history.map((h) => h.step)).toEqual([
      Step.QUEUED,
      Step.FAILED,
      Step.DELETING,
      Step.FAILED,
      Step.DELETING,
    ]);
  });

  it('turns a Ready store Degraded with the reason, and back, as its health is announced again', () => {
    let store = put(project(undefined, createEvent(1n)));
    store = put(project(store, statusEvent(3n, Step.READY, { conditions: health(3) })));

    store = put(project(store, statusEvent(5n, Step.READY, { conditions: health(5, unavailable) })));
    expect([store.step, store.reason, conditionsOf(store)]).toEqual([
      Step.READY,
      '',
      { Ready: ['False', unavailable.message], Degraded: ['True', unavailable.message] },
    ]);
    expect(store.updatedAt).toEqual(at(5));

    store = put(project(store, statusEvent(7n, Step.READY, { conditions: health(7) })));
    expect(conditionsOf(store)).toEqual({ Ready: ['True', 'serving at http://shop.example'], Degraded: ['False', ''] });
    expect(store.history.map((h) => h.step)).toEqual([Step.QUEUED, Step.READY]);
  });

  it('ends Ready when a recovery is applied before the degradation it ends', () => {
    const events = [
      statusEvent(3n, Step.READY, { conditions: health(3) }),
      statusEvent(5n, Step.READY, { conditions: health(5, unavailable) }),
      statusEvent(7n, Step.READY, { conditions: health(7) }),
    ];
    for (const order of permutations(events)) {
      const store = order.reduce(
        (s, e) => {
          const result = project(s, e);
          return result.action === 'put' ? result.store : s;
        },
        put(project(undefined, createEvent(1n))),
      );
      expect(conditionsOf(store)).toEqual({
        Ready: ['True', 'serving at http://shop.example'],
        Degraded: ['False', ''],
      });
    }
  });

  it('keeps the Queued record that the gateway wrote for its own command', () => {
    const event = createEvent(4n) as Extract<StoreEvent, { kind: 'create' }>;

    expect(project(queuedStore(event.command, 4n), event)).toEqual({ action: 'keep' });
  });
});
