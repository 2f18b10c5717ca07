import { buckets, Step, streams, subjects } from '@urumi/contracts';
import { MetricsServer } from '@urumi/runtime';
import { eventually } from '@urumi/sandbox';
import { connect, NatsConnection } from 'nats';
import { STATUS_CODES } from 'node:http';
import request from 'supertest';
import { bearer, Harness, startGateway, uniqueStoreName } from './gateway-harness';
import { commandsOn, createCommandsFor, publishStatus, StoreRef } from './stores-stream';

jest.setTimeout(60_000);

/** The REST API end to end: real gateway, real NATS JetStream, real KV read model. */
describe('stores API', () => {
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

  async function createStore(user: 'alice' | 'bob' | 'admin', name = uniqueStoreName(), engine = 'woocommerce') {
    return http().post('/api/v1/stores').set(bearer(user)).send({ name, engine });
  }

  /** What quota, the provisioner or cleanup would publish. */
  const announce = (store: StoreRef, step: Step, reason = '', message = '') =>
    publishStatus(nc, store, step, { reason, message });

  /** The last sequence of each stream a create writes to: equal before and after means nothing was written. */
  async function lastSequences(): Promise<number[]> {
    const jsm = await nc.jetstreamManager();
    const names = [streams.stores.name, `KV_${buckets.stores}`, `KV_${buckets.storeNames}`];
    return Promise.all(names.map(async (name) => (await jsm.streams.info(name)).state.last_seq));
  }

  describe('authentication', () => {
    it('answers 401 without a token, with a bearer challenge', async () => {
      const res = await http().get('/api/v1/stores');
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
      expect(res.body).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
    });

    it('answers 401 for an unknown token', async () => {
      const res = await http().get('/api/v1/stores').set('Authorization', 'Bearer not-a-real-token');
      expect(res.status).toBe(401);
    });

    it('tells a token whom it belongs to: GET /api/v1/me', async () => {
      expect((await http().get('/api/v1/me').set(bearer('alice'))).body).toEqual({ name: 'alice', role: 'tenant' });
      expect((await http().get('/api/v1/me').set(bearer('admin'))).body).toEqual({ name: 'ada', role: 'admin' });
      expect((await http().get('/api/v1/me')).status).toBe(401);
    });

    it('leaves the operational endpoints open, with /metrics on its own port', async () => {
      expect((await http().get('/healthz')).status).toBe(200);
      expect((await http().get('/readyz')).body).toMatchObject({
        status: 'ready',
        checks: { nats: true, readModel: true },
      });
      // Not on the public port (whatever the console's fallback answers there), only on the metrics port.
      expect((await http().get('/metrics')).text).not.toContain('http_request_duration_seconds');
      const metricsPort = sut.app.get(MetricsServer).port;
      expect((await request(`http://127.0.0.1:${metricsPort}`).get('/metrics')).text).toContain(
        'http_request_duration_seconds',
      );
      expect((await http().get('/api/docs/openapi.json')).body.paths).toHaveProperty(['/api/v1/stores']);
    });
  });

  describe('POST /api/v1/stores', () => {
    it('accepts a store: 202, Location, Queued at once, and the command durably in JetStream', async () => {
      const name = uniqueStoreName();
      const res = await createStore('alice', name);

      expect(res.status).toBe(202);
      expect(res.body).toMatchObject({ name, engine: 'woocommerce', owner: 'alice', step: 'queued', status: 'Queued' });
      expect(res.headers['location']).toBe(`/api/v1/stores/${res.body.id}`);
      expect(res.headers['x-request-id']).toBeTruthy();
      const fetched = await http().get(res.headers['location']!).set(bearer('alice'));
      expect(fetched.body).toMatchObject({ id: res.body.id, status: 'Queued', namespace: `store-${name}` });
      expect(await createCommandsFor(nc, name)).toEqual([
        expect.objectContaining({ storeId: res.body.id, name, owner: 'alice', engine: 'ENGINE_WOOCOMMERCE' }),
      ]);
    });

    it('refuses a name another store holds with 409', async () => {
      const name = uniqueStoreName();
      expect((await createStore('alice', name)).status).toBe(202);

      const second = await createStore('bob', name);

      expect(second.status).toBe(409);
      expect(second.body.message).toBe(`store name "${name}" is taken; choose another name`);
    });

    it.each([
      ['a short name', { name: 'ab', engine: 'medusa' }, 'name must be 3–40 characters long'],
      ['a long name', { name: 'x'.repeat(41), engine: 'medusa' }, 'name must be 3–40 characters long'],
      ['capitals', { name: 'MyShop', engine: 'medusa' }, 'lowercase letters'],
      ['a reserved name', { name: 'admin', engine: 'medusa' }, 'name "admin" is reserved'],
      ['an unknown engine', { name: 'valid-name', engine: 'shopify' }, 'engine must be one of: woocommerce, medusa'],
      ['an unknown field', { name: 'valid-name', engine: 'medusa', plan: 'xl' }, 'property plan should not exist'],
      ['no fields', {}, 'name must be a string'],
      ['a number for a name', { name: 42, engine: 'medusa' }, 'name must be a string'],
    ])('answers 400 for %s', async (_case, body, message) => {
      const res = await http().post('/api/v1/stores').set(bearer('alice')).send(body);

      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
      expect(res.body.message).toContain(message);
    });

    it('answers 400 for malformed JSON and 413 for an oversized body', async () => {
      const malformed = await http()
        .post('/api/v1/stores')
        .set(bearer('alice'))
        .set('Content-Type', 'application/json')
        .send('{"name": ');
      expect(malformed.status).toBe(400);
      expect(malformed.body.message).toBe('request body is not valid JSON');

      const huge = await http()
        .post('/api/v1/stores')
        .set(bearer('alice'))
        .send({ name: 'valid-name', engine: 'medusa', padding: 'x'.repeat(20_000) });
      expect(huge.status).toBe(413);
      expect(huge.body.message).toMatch(/larger than \d+ bytes/);
    });

    it.each([
      ['plain text', 'text/plain', 'name=shop', 415, 'request body must be JSON (Content-Type: application/json)'],
      [
        'a form',
        'application/x-www-form-urlencoded',
        'name=shop',
        415,
        'request body must be JSON (Content-Type: application/json)',
      ],
      ['JSON in Latin-1', 'application/json; charset=latin1', '{}', 415, 'request body must be UTF-8 JSON'],
      ['a bare JSON string', 'application/json', '"shop"', 400, 'request body must be a JSON object'],
    ])('refuses %s and says what it takes', async (_case, type, body, status, message) => {
      const res = await http().post('/api/v1/stores').set(bearer('alice')).set('Content-Type', type).send(body);

      expect(res.body).toEqual({ statusCode: status, error: STATUS_CODES[status], message });
    });

    it('leaves nothing behind after a refused request', async () => {
      const taken = uniqueStoreName();
      expect((await createStore('alice', taken)).status).toBe(202);
      const before = await lastSequences();

      const invalid = await http().post('/api/v1/stores').set(bearer('alice')).send({ name: 'NOPE', engine: 'medusa' });
      const conflicting = await createStore('bob', taken);

      expect([invalid.status, conflicting.status]).toEqual([400, 409]);
      expect(await lastSequences()).toEqual(before);
    });
  });

  describe('ownership', () => {
    it('hides a tenant’s store from another tenant (404) and shows every store to an admin', async () => {
      const created = await createStore('alice');
      const id = created.body.id as string;

      expect((await http().get(`/api/v1/stores/${id}`).set(bearer('bob'))).status).toBe(404);
      expect((await http().delete(`/api/v1/stores/${id}`).set(bearer('bob'))).status).toBe(404);
      const bobs = await http().get('/api/v1/stores').set(bearer('bob'));
      expect(bobs.body.items.map((s: { id: string }) => s.id)).not.toContain(id);
      const all = await http().get('/api/v1/stores').set(bearer('admin'));
      expect(all.body.items).toContainEqual(expect.objectContaining({ id, owner: 'alice' }));
    });
  });

  describe('status from events', () => {
    it('shows what quota decided, with its reason, and filters by status', async () => {
      const created = (await createStore('alice')).body as { id: string; name: string; owner: string };

      await announce(created, Step.REJECTED, 'QuotaExceeded', 'quota: 3 of 3 active stores');

      await eventually(async () =>
        expect((await http().get(`/api/v1/stores/${created.id}`).set(bearer('alice'))).body.step).toBe('rejected'),
      );
      const store = (await http().get(`/api/v1/stores/${created.id}`).set(bearer('alice'))).body;
      expect(store).toMatchObject({
        status: 'Rejected',
        reason: 'QuotaExceeded',
        message: 'quota: 3 of 3 active stores',
      });
      expect(store.history.map((h: { step: string }) => h.step)).toEqual(['queued', 'rejected']);
      const rejected = (await http().get('/api/v1/stores?status=rejected').set(bearer('alice'))).body.items as {
        id: string;
        step: string;
      }[];
      expect(rejected.map((s) => s.id)).toContain(created.id);
      expect(rejected.filter((s) => s.step !== 'rejected')).toEqual([]);
      expect((await http().get('/api/v1/stores?status=sideways').set(bearer('alice'))).status).toBe(400);
    });

    it('frees a rejected store’s name for a new store', async () => {
      const created = (await createStore('alice')).body as { id: string; name: string; owner: string };
      await announce(created, Step.REJECTED, 'QuotaExceeded', 'quota: 3 of 3 active stores');
      await eventually(async () => expect((await createStore('alice', created.name)).status).toBe(202));
    });
  });

  describe('DELETE /api/v1/stores/:id', () => {
    it('answers 202 Deleting, and repeats that answer and the command for a repeated delete', async () => {
      const created = (await createStore('alice')).body as { id: string };

      const first = await http().delete(`/api/v1/stores/${created.id}`).set(bearer('alice'));
      const again = await http().delete(`/api/v1/stores/${created.id}`).set(bearer('alice'));

      expect(first.status).toBe(202);
      expect(first.body).toMatchObject({ id: created.id, step: 'deleting', status: 'Deleting' });
      expect(again.status).toBe(202);
      expect(again.body).toEqual(first.body);
      expect((await http().get(`/api/v1/stores/${created.id}`).set(bearer('alice'))).body).toEqual(first.body);
      // Each DELETE is published (deleting is idempotent): a store stuck Deleting is re-driven by deleting it again.
      const deletes = (await commandsOn(nc, subjects.deleteStore)).filter((c) => c.storeId === created.id);
      expect(deletes).toHaveLength(2);
    });

    it('removes the store once it is deleted', async () => {
      const created = (await createStore('alice')).body as { id: string; name: string; owner: string };
      await http().delete(`/api/v1/stores/${created.id}`).set(bearer('alice'));

      await announce(created, Step.DELETED);

      await eventually(async () =>
        expect((await http().get(`/api/v1/stores/${created.id}`).set(bearer('alice'))).status).toBe(404),
      );
    });
  });

  describe('Idempotency-Key', () => {
    it('replays the first answer for a retry and refuses the key with another body (422)', async () => {
      const key = `key-${uniqueStoreName()}`;
      const body = { name: uniqueStoreName(), engine: 'medusa' };

      const first = await http().post('/api/v1/stores').set(bearer('alice')).set('Idempotency-Key', key).send(body);
      const retry = await http().post('/api/v1/stores').set(bearer('alice')).set('Idempotency-Key', key).send(body);
      const other = await http()
        .post('/api/v1/stores')
        .set(bearer('alice'))
        .set('Idempotency-Key', key)
        .send({ ...body, engine: 'woocommerce' });

      expect(first.status).toBe(202);
      expect(retry.status).toBe(202);
      expect(retry.body.id).toBe(first.body.id);
      expect(other.status).toBe(422);
      const mine = await http().get('/api/v1/stores').set(bearer('alice'));
      expect(mine.body.items.filter((s: { name: string }) => s.name === body.name)).toHaveLength(1);
    });
  });

  describe('audit', () => {
    it('records who did what, when and from where, for admins only', async () => {
      const created = (await createStore('bob')).body as { id: string; name: string };

      expect((await http().get('/api/v1/audit').set(bearer('bob'))).status).toBe(403);
      await eventually(async () => {
        const page = await http().get('/api/v1/audit?limit=50').set(bearer('admin'));
        expect(page.body.items.map((e: { storeId: string }) => e.storeId)).toContain(created.id);
      });
      const page = await http().get('/api/v1/audit?limit=50').set(bearer('admin'));
      const entry = page.body.items.find((e: { storeId: string }) => e.storeId === created.id);
      expect(entry).toMatchObject({
        user: 'bob',
        role: 'tenant',
        action: 'store.create',
        storeName: created.name,
        statusCode: 202,
      });
      expect(entry.sourceIp).toMatch(/127\.0\.0\.1/);
      expect(Date.parse(entry.at)).not.toBeNaN();
      expect((await http().get('/api/v1/audit?limit=0').set(bearer('admin'))).status).toBe(400);
    });
  });
});
