import fc from 'fast-check';
import request from 'supertest';
import { bearer, Harness, startGateway } from './gateway-harness';

jest.setTimeout(120_000);

/** Whatever a client sends, the API answers with a 2xx or a 4xx: never a 5xx, never a crash. */
describe('API under random input', () => {
  let sut: Harness;

  beforeAll(async () => {
    sut = await startGateway();
  });

  afterAll(() => sut?.close());

  const names = fc.oneof(
    fc.string(),
    fc.stringMatching(/^[a-z0-9-]{0,45}$/),
    fc.constantFrom('admin', 'api', 'ok-name'),
    fc.integer(),
    fc.constant(null),
  );
  const engines = fc.oneof(fc.constantFrom('woocommerce', 'medusa', 'WooCommerce', ''), fc.string(), fc.integer());
  const bodies = fc.oneof(
    fc.record({ name: names, engine: engines }, { requiredKeys: [] }),
    fc.dictionary(fc.string(), fc.jsonValue()),
    fc.jsonValue(),
  );

  it('POST /api/v1/stores with any JSON body', async () => {
    await fc.assert(
      fc.asyncProperty(bodies, async (body) => {
        const res = await request(sut.app.getHttpServer())
          .post('/api/v1/stores')
          .set(bearer('alice'))
          .set('Content-Type', 'application/json')
          .send(JSON.stringify(body));
        expect(res.status).toBeGreaterThanOrEqual(200);
        expect(res.status).toBeLessThan(500);
        if (res.status >= 400) expect(typeof res.body.message).toBe('string');
      }),
      { numRuns: 150 },
    );
  });

  it('any raw bytes, any path id, any query', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string(), fc.string(), fc.string(), async (raw, id, status) => {
        const post = await request(sut.app.getHttpServer())
          .post('/api/v1/stores')
          .set(bearer('bob'))
          .set('Content-Type', 'application/json')
          .send(raw);
        const get = await request(sut.app.getHttpServer())
          .get(`/api/v1/stores/${encodeURIComponent(id)}`)
          .set(bearer('bob'));
        const list = await request(sut.app.getHttpServer()).get('/api/v1/stores').query({ status }).set(bearer('bob'));
        for (const res of [post, get, list]) expect(res.status).toBeLessThan(500);
      }),
      { numRuns: 100 },
    );
  });
});
