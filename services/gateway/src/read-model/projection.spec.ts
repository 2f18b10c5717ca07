import {
  create,
  CreateStoreCommandSchema,
  DeleteStoreCommandSchema,
  Engine,
  Step,
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

const statusEvent = (sequence: bigint, step: Step, extra: { reason?: string; url?: string } = {}): StoreEvent => ({
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
    store = put(project(store, statusEvent(3n, Step.NAMESPACE_READY)));

    expect(store.step).toBe(Step.DELETING);
    expect(store.history.map((h) => h.step)).toEqual([Step.QUEUED, Step.DELETING, Step.NAMESPACE_READY]);
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

  it('keeps the Queued record that the gateway wrote for its own command', () => {
    const event = createEvent(4n) as Extract<StoreEvent, { kind: 'create' }>;

    expect(project(queuedStore(event.command, 4n), event)).toEqual({ action: 'keep' });
  });
});
