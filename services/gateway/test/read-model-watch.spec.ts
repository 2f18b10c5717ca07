import { buckets, create, encode, Engine, Step, StoreSchema, timestampNow } from '@urumi/contracts';
import { KeyValueBuckets } from '@urumi/messaging';
import { eventually } from '@urumi/sandbox';
import { randomUUID } from 'node:crypto';
import { connect, NatsConnection } from 'nats';
import request from 'supertest';
import { ReadModel } from '../src/read-model/read-model.service';
import { bearer, Harness, startGateway, uniqueStoreName } from './gateway-harness';

// Deletes and re-creates the `stores` bucket under a running gateway, so it runs in a file of its own.
jest.setTimeout(90_000);

describe(`${ReadModel.name} when its bucket watch ends`, () => {
  let sut: Harness;
  let nc: NatsConnection;
  const http = () => request(sut.app.getHttpServer());

  beforeAll(async () => {
    sut = await startGateway();
    nc = await connect({ servers: sut.natsUrl });
  });

  afterAll(async () => {
    await nc?.close();
    await sut?.close();
  });

  it('is not ready until a restarted watch has caught up, then serves the bucket as it is', async () => {
    const before = await http()
      .post('/api/v1/stores')
      .set(bearer('alice'))
      .send({ name: uniqueStoreName(), engine: 'medusa' });
    expect(before.status).toBe(202);
    expect((await http().get('/readyz')).status).toBe(200);

    // The server ends the watch: its consumer goes with the stream and cannot be made again.
    await (await nc.jetstreamManager()).streams.delete(`KV_${buckets.stores}`);
    await eventually(async () => {
      const readiness = await http().get('/readyz');
      expect(readiness.status).toBe(503);
      expect(readiness.body.checks).toEqual({ nats: true, readModel: false });
    }, 30_000);
    const kv = await new KeyValueBuckets(nc).open(buckets.stores);
    await eventually(async () => expect((await http().get('/readyz')).status).toBe(200), 30_000);

    // Written as another replica's projector would: only the watch can bring it here.
    const id = randomUUID();
    const name = uniqueStoreName();
    const at = timestampNow();
    const written = create(StoreSchema, {
      id,
      name,
      engine: Engine.MEDUSA,
      owner: 'alice',
      step: Step.QUEUED,
      namespace: `store-${name}`,
      createdAt: at,
      updatedAt: at,
      lastSequence: 1n,
    });
    await kv.put(id, JSON.stringify(encode(StoreSchema, written)));

    await eventually(async () =>
      expect((await http().get(`/api/v1/stores/${id}`).set(bearer('alice'))).status).toBe(200),
    );
    expect((await http().get(`/api/v1/stores/${before.body.id}`).set(bearer('alice'))).status).toBe(404);
    const listed = await http().get('/api/v1/stores').set(bearer('alice'));
    expect(listed.body.items.map((store: { id: string }) => store.id)).toEqual([id]);
  });
});
