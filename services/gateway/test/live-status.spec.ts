import { create, encode, Engine, Step, StoreStatusChangedSchema, subjects, timestampNow } from '@urumi/contracts';
import { connect, headers, NatsConnection } from 'nats';
import request from 'supertest';
import WebSocket from 'ws';
import { LIVE_PATH, LIVE_PROTOCOL } from '../src/live/live-status.server';
import { bearer, Harness, startGateway, uniqueStoreName, User, users } from './gateway-harness';

jest.setTimeout(60_000);

interface LiveMessage {
  type: 'snapshot' | 'store' | 'deleted';
  store?: { id: string; step: string; owner: string };
  stores?: { id: string }[];
  id?: string;
}

/** A browser-like client: the token rides in the subprotocol list, the Origin header is set. */
function openLive(
  sut: Harness,
  user: User,
  origin = 'http://console.test',
): Promise<{ ws: WebSocket; messages: LiveMessage[] }> {
  const token = Buffer.from(users[user].token).toString('base64url');
  const ws = new WebSocket(`${sut.url.replace('http', 'ws')}${LIVE_PATH}`, [LIVE_PROTOCOL, `bearer.${token}`], {
    origin,
  });
  const messages: LiveMessage[] = [];
  ws.on('message', (data) => messages.push(JSON.parse(String(data)) as LiveMessage));
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, messages }));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

async function until<T>(find: () => T | undefined, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = find();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error('not received in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

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
    const ws = new WebSocket(`${sut.url.replace('http', 'ws')}${LIVE_PATH}`, [LIVE_PROTOCOL, 'bearer.bm9wZQ'], {
      origin: 'http://console.test',
    });
    await expect(
      new Promise((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      }),
    ).rejects.toThrow('HTTP 401');
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
