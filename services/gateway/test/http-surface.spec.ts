import request from 'supertest';
import { createGateway } from '../src/main';
import { Harness, startGateway } from './gateway-harness';
import { IdentityProvider, startIdentityProvider } from './identity-provider';

jest.setTimeout(60_000);

describe(createGateway.name, () => {
  let sut: Harness;

  beforeAll(async () => {
    sut = await startGateway({ ALLOWED_ORIGINS: 'http://console.test' });
  });

  afterAll(() => sut?.close());

  const preflight = (origin: string) =>
    request(sut.app.getHttpServer())
      .options('/api/v1/stores')
      .set('Origin', origin)
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'authorization, content-type, idempotency-key');

  it('answers a CORS preflight from an allowed origin with exactly that origin and no credentials', async () => {
    const res = await preflight('http://console.test');

    expect(res.status).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe('http://console.test');
    expect(res.headers['access-control-allow-credentials']).toBeUndefined();
    expect(res.headers['access-control-allow-methods']).toBe('GET,POST,DELETE');
    expect(res.headers['access-control-allow-headers']).toBe('Authorization,Content-Type,Idempotency-Key,X-Request-Id');
    expect(res.headers['vary']).toMatch(/Origin/);
  });

  it('gives a refused origin no CORS grant', async () => {
    const res = await preflight('http://evil.test');

    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    expect(res.headers['access-control-allow-methods']).toBeUndefined();
  });

  it('lets an allowed origin read the answer headers a client needs', async () => {
    const res = await request(sut.app.getHttpServer()).get('/api/v1/stores').set('Origin', 'http://console.test');

    expect(res.status).toBe(401);
    expect(res.headers['access-control-allow-origin']).toBe('http://console.test');
    expect(res.headers['access-control-expose-headers']).toBe(
      'Location,Retry-After,RateLimit-Limit,RateLimit-Remaining,RateLimit-Reset,RateLimit-Policy,X-Request-Id,Idempotent-Replayed',
    );
  });

  it('serves the OpenAPI document without a token: it is the public contract, it holds no data', async () => {
    const res = await request(sut.app.getHttpServer()).get('/api/docs/openapi.json');

    expect(res.status).toBe(200);
    expect(Object.keys((res.body as { paths: object }).paths)).toContain('/api/v1/stores');
  });

  describe('with OIDC tokens', () => {
    let idp: IdentityProvider;
    let oidc: Harness;

    beforeAll(async () => {
      idp = await startIdentityProvider();
      oidc = await startGateway(idp.gatewayEnv);
    });

    afterAll(async () => {
      await oidc?.close();
      await idp?.close();
    });

    it('names the caller by the immutable subject and shows the friendly name separately', async () => {
      const token = await idp.sign({ sub: '0c6f6c8e-5d1b-4f7e-9a7e-2f3b1c9d4e5a', preferred_username: 'Alice' });

      const res = await request(oidc.app.getHttpServer()).get('/api/v1/me').set('Authorization', `Bearer ${token}`);

      expect(res.body).toEqual({ name: '0c6f6c8e-5d1b-4f7e-9a7e-2f3b1c9d4e5a', role: 'tenant', displayName: 'Alice' });
    });

    it.each([
      ['another issuer', { issuer: 'https://elsewhere.example' }],
      ['another audience', { audience: 'another-api' }],
    ])('answers a token for %s with a 401 that names neither issuer nor audience', async (_case, meantFor) => {
      const token = await idp.sign({ sub: 'alice' }, 300, meantFor);

      const res = await request(oidc.app.getHttpServer()).get('/api/v1/me').set('Authorization', `Bearer ${token}`);

      expect(res.body).toEqual({
        statusCode: 401,
        error: 'Unauthorized',
        message: 'bearer token is not valid for this API',
      });
    });
  });
});
