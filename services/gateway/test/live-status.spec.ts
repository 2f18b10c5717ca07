import { create, encode, Engine, Step, StoreStatusChangedSchema, subjects, timestampNow } from '@urumi/contracts';
import { connect, headers, NatsConnection } from 'nats';
import request from 'supertest';
import WebSocket from 'ws';
import { eventually } from '@urumi/sandbox';
import { bearer, Harness, startGateway, uniqueStoreName, User, users } from './gateway-harness';
import { connectLive, opened } from './live-client';

jest.setTimeout(60_000);

interface LiveMessage {
  type: 'snapshot' | 'store' | 'deleted';
  store?: { id: string; step: string; owner: string };
  stores?: { id: string }[];
  id?: string;
}

/** A live connection as the console opens it, with every message it receives. */
async function openLive(
  sut: Harness,
  user: User,
  origin = 'http://console.test',
): Promise<{ ws: WebSocket; messages: LiveMessage[] }> {
  const ws = connectLive(sut.url, users[user].token, { origin });
  const messages: LiveMessage[] = [];
  ws.on('message', (data) => messages.push(JSON.parse(String(data)) as LiveMessage));
  const outcome = await opened(ws);
  if (!outcome.opened) throw new Error(`HTTP ${outcome.status}`);
  return { ws, messages };
}

/** What `find` finds in the messages received so far, once it finds anything. */
const until = <T>(find: () => T | undefined): Promise<T> =>
  eventually(
    () => {
      const found = find();
      if (found === undefined) throw new Error('not received in time');
      return found;
    },
    5_000,
    20,
  );

describe('live status WebSocket', () => {
  let sut: Harness;
  let nc: NatsConnection;
  const sockets: WebSocket[] = [];

  beforeAll(async () => {
    sut = await startGateway();
    nc = await connect({ servers: sut.natsUrl });
  });

  afterAll(async () => {
    for (const ws of sockets) ws.close();
    await nc?.close();
    await sut?.close();
  });

  it('refuses a foreign Origin with 403 and a bad token with 401, before upgrading', async () => {
    await expect(openLive(sut, 'alice', 'http://evil.test')).rejects.toThrow('HTTP 403');
    const refusal = await opened(connectLive(sut.url, 'nope'));
    expect(refusal).toMatchObject({ opened: false, status: 401 });
  });

  it('pushes a status change to its owner and to admins, never to another tenant', async () => {
    const alice = await openLive(sut, 'alice');
    const bob = await openLive(sut, 'bob');
    const admin = await openLive(sut, 'admin');
    sockets.push(alice.ws, bob.ws, admin.ws);
    await until(() => alice.messages.find((m) => m.type === 'snapshot'));

    const created = (
      await request(sut.app.getHttpServer())
        .post('/api/v1/stores')
        .set(bearer('alice'))
        .send({ name: uniqueStoreName(), engine: 'medusa' })
    ).body as { id: string; name: string };
    const approved = create(StoreStatusChangedSchema, {
      storeId: created.id,
      name: created.name,
      engine: Engine.MEDUSA,
      owner: 'alice',
      step: Step.APPROVED,
      occurredAt: timestampNow(),
    });
    const h = headers();
    h.set('Nats-Msg-Id', `test:${created.id}:approved`);
    await nc
      .jetstream()
      .publish(subjects.status(Step.APPROVED), JSON.stringify(encode(StoreStatusChangedSchema, approved)), {
        headers: h,
      });

    await until(() => alice.messages.find((m) => m.store?.id === created.id && m.store.step === 'approved'));
    await until(() => admin.messages.find((m) => m.store?.id === created.id && m.store.step === 'approved'));
    // A change of bob's own, made after alice saw hers: once it reaches bob, hers would have too.
    const marker = (
      await request(sut.app.getHttpServer())
        .post('/api/v1/stores')
        .set(bearer('bob'))
        .send({ name: uniqueStoreName(), engine: 'medusa' })
    ).body as { id: string };
    await until(() => bob.messages.find((m) => m.store?.id === marker.id));
    expect(bob.messages.some((m) => m.store?.id === created.id)).toBe(false);
    expect(alice.messages.find((m) => m.store?.id === created.id)?.store?.owner).toBe('alice');
  });

  it('starts each connection with a snapshot of what the user may see', async () => {
    const created = (
      await request(sut.app.getHttpServer())
        .post('/api/v1/stores')
        .set(bearer('bob'))
        .send({ name: uniqueStoreName(), engine: 'medusa' })
    ).body as { id: string };

    const bob = await openLive(sut, 'bob');
    const alice = await openLive(sut, 'alice');
    sockets.push(bob.ws, alice.ws);

    const bobsSnapshot = await until(() => bob.messages.find((m) => m.type === 'snapshot'));
    const alicesSnapshot = await until(() => alice.messages.find((m) => m.type === 'snapshot'));
    expect(bobsSnapshot.stores?.map((s) => s.id)).toContain(created.id);
    expect(alicesSnapshot.stores?.map((s) => s.id)).not.toContain(created.id);
  });
});
