import {
  create,
  encode,
  Engine,
  Step,
  StoreStatusChangedSchema,
  streams,
  subjects,
  timestampNow,
} from '@urumi/contracts';
import { eventually } from '@urumi/sandbox';
import { connect, nanos, NatsConnection } from 'nats';
import request from 'supertest';
import { bearer, Harness, startGateway, uniqueStoreName } from './gateway-harness';

jest.setTimeout(90_000);

/** STORES is bounded by age; what a store is now lives in the `stores` KV read model, which outlives the messages. */
describe('STORES retention', () => {
  let nc: NatsConnection;
  let gateway: Harness | undefined;

  beforeAll(async () => {
    gateway = await startGateway();
    nc = await connect({ servers: gateway.natsUrl });
  });

  afterAll(async () => {
    await gateway?.close();
    await nc?.close();
  });

  it('keeps a week of messages, the duplicate window inside it', async () => {
    const { config } = await (await nc.jetstreamManager()).streams.info(streams.stores.name);

    expect(config.max_age).toBe(nanos(7 * 24 * 60 * 60_000));
    expect(config.duplicate_window).toBe(nanos(60 * 60_000));
  });

  it("rebuilds nothing from the stream: a fresh gateway still shows every live store after STORES's messages are gone", async () => {
    const http = () => request(gateway!.app.getHttpServer());
    const queued = (
      await http().post('/api/v1/stores').set(bearer('alice')).send({ name: uniqueStoreName(), engine: 'medusa' })
    ).body;
    const approved = (
      await http().post('/api/v1/stores').set(bearer('bob')).send({ name: uniqueStoreName(), engine: 'woocommerce' })
    ).body;
    const event = create(StoreStatusChangedSchema, {
      storeId: approved.id,
      name: approved.name,
      engine: Engine.WOOCOMMERCE,
      owner: 'bob',
      step: Step.APPROVED,
      occurredAt: timestampNow(),
    });
    await nc
      .jetstream()
      .publish(subjects.status(Step.APPROVED), JSON.stringify(encode(StoreStatusChangedSchema, event)));
    await eventually(async () => {
      expect((await http().get(`/api/v1/stores/${approved.id}`).set(bearer('bob'))).body.step).toBe('approved');
    });
    const before = await Promise.all([
      http().get(`/api/v1/stores/${queued.id}`).set(bearer('alice')),
      http().get(`/api/v1/stores/${approved.id}`).set(bearer('bob')),
    ]);
    await gateway!.close();
    gateway = undefined;

    // What max_age does to messages past their week, and a new replica: its durable consumer starts from scratch.
    const jsm = await nc.jetstreamManager();
    await jsm.streams.purge(streams.stores.name);
    for (const consumer of await jsm.consumers.list(streams.stores.name).next()) {
      if (consumer.name.startsWith('gateway')) await jsm.consumers.delete(streams.stores.name, consumer.name);
    }
    gateway = await startGateway();

    const after = await Promise.all([
      request(gateway.app.getHttpServer()).get(`/api/v1/stores/${queued.id}`).set(bearer('alice')),
      request(gateway.app.getHttpServer()).get(`/api/v1/stores/${approved.id}`).set(bearer('bob')),
    ]);
    const { state } = await jsm.streams.info(streams.stores.name);
    expect(state.messages).toBe(0);
    expect(after.map((response) => response.status)).toEqual([200, 200]);
    expect(after.map((response) => response.body)).toEqual(before.map((response) => response.body));
  });
});
