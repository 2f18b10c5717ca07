import {
  create,
  CreateStoreCommandSchema,
  Engine,
  Step,
  StoreStatusChangedSchema,
  timestampNow,
} from '@urumi/contracts';
import { KeyValueBuckets } from '@urumi/messaging';
import { testSandbox } from '@urumi/sandbox';
import { randomUUID } from 'node:crypto';
import { connect, KV, NatsConnection } from 'nats';
import { StoreEvent } from './projection';
import { StoreRepository } from './store.repository';

const createEvent = (storeId: string): StoreEvent => ({
  kind: 'create',
  sequence: 1n,
  command: create(CreateStoreCommandSchema, {
    storeId,
    name: `shop-${storeId.slice(0, 8)}`,
    engine: Engine.MEDUSA,
    owner: 'alice',
    requestedAt: timestampNow(),
  }),
});

const statusEvent = (storeId: string, step: Step, sequence: bigint): StoreEvent => ({
  kind: 'status',
  sequence,
  event: create(StoreStatusChangedSchema, {
    storeId,
    name: `shop-${storeId.slice(0, 8)}`,
    engine: Engine.MEDUSA,
    owner: 'alice',
    step,
    occurredAt: timestampNow(),
  }),
});

describe(StoreRepository.name, () => {
  const storesBucket = `stores-test-${randomUUID().slice(0, 8)}`;
  const namesBucket = `names-test-${randomUUID().slice(0, 8)}`;
  let nc: NatsConnection;
  let kv: KV;
  let sut: StoreRepository;

  beforeAll(async () => {
    nc = await connect({ servers: await testSandbox().natsUrl() });
    sut = await StoreRepository.open(new KeyValueBuckets(nc), { storesBucket, namesBucket });
    kv = await nc.jetstream().views.kv(storesBucket);
  });

  afterAll(async () => {
    const jsm = await nc.jetstreamManager();
    for (const bucket of [storesBucket, namesBucket]) await jsm.streams.delete(`KV_${bucket}`);
    await nc.close();
  });

  afterEach(() => jest.restoreAllMocks());

  it('writes a new store without reading it first', async () => {
    const id = randomUUID();
    // Every bucket handle's reads, the repository's own included.
    const get = jest.spyOn(Object.getPrototypeOf(kv) as KV, 'get');

    const { projection, revision } = await sut.apply(id, createEvent(id));

    expect(projection).toMatchObject({ action: 'put', store: { id, step: Step.QUEUED } });
    expect(get).not.toHaveBeenCalled();
    expect((await kv.get(id))?.revision).toBe(revision);
  });

  it('writes a change on the revision the caller knows without reading, and reads when that revision is old', async () => {
    const id = randomUUID();
    const created = await sut.apply(id, createEvent(id));
    if (created.projection.action !== 'put' || created.revision === undefined) throw new Error('not created');
    const known = { store: created.projection.store, revision: created.revision };
    const get = jest.spyOn(Object.getPrototypeOf(kv) as KV, 'get');

    const approved = await sut.apply(id, statusEvent(id, Step.APPROVED, 2n), known);
    expect(get).not.toHaveBeenCalled();
    const provisioning = await sut.apply(id, statusEvent(id, Step.NAMESPACE_READY, 3n), known);

    expect(approved.projection).toMatchObject({ action: 'put', store: { step: Step.APPROVED } });
    expect(get).toHaveBeenCalledTimes(1);
    expect(provisioning.revision).toBeGreaterThan(approved.revision!);
    expect(await sut.get(id)).toMatchObject({ step: Step.NAMESPACE_READY });
  });

  it('keeps what the projector wrote first when the create arrives after it', async () => {
    const id = randomUUID();
    await sut.apply(id, createEvent(id));
    await sut.apply(id, statusEvent(id, Step.APPROVED, 2n));

    const { projection } = await sut.apply(id, createEvent(id));

    expect(projection).toEqual({ action: 'keep' });
    expect(await sut.get(id)).toMatchObject({ id, step: Step.APPROVED });
  });
});
