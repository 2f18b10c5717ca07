import { request as httpRequest } from 'node:http';
import request from 'supertest';
import { bearer, Harness, startGateway, uniqueStoreName } from './gateway-harness';

jest.setTimeout(60_000);

describe('rate limits', () => {
  let sut: Harness;

  beforeAll(async () => {
    sut = await startGateway({ RATE_LIMIT_CREATES_PER_MINUTE: '2' });
  });

  afterAll(() => sut?.close());

  it('answers 429 with Retry-After and RateLimit headers once a user exceeds the create limit', async () => {
    // Only this test creates stores as the admin, so the shared counter is this test's alone.
    const statuses: number[] = [];
    let refused: request.Response | undefined;
    for (let i = 0; i < 4; i++) {
      const res = await request(sut.app.getHttpServer())
        .post('/api/v1/stores')
        .set(bearer('admin'))
        .send({ name: uniqueStoreName('rl'), engine: 'medusa' });
      statuses.push(res.status);
      if (res.status === 429) refused ??= res;
    }

    expect(statuses).toEqual([202, 202, 429, 429]);
    const retryAfter = Number(refused?.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(refused?.headers['ratelimit-limit']).toBe('2');
    expect(refused?.headers['ratelimit-remaining']).toBe('0');
    expect(refused?.headers['ratelimit-reset']).toBe(String(retryAfter));
    expect(refused?.body).toEqual({
      statusCode: 429,
      error: 'Too Many Requests',
      message: `rate limit exceeded: at most 2 creations per user per minute; try again in ${retryAfter} s`,
    });
  });
});

describe('rate limits with no proxy trusted (the default)', () => {
  let sut: Harness;

  beforeAll(async () => {
    sut = await startGateway({ RATE_LIMIT_IP_PER_MINUTE: '3', TRUSTED_PROXIES: '0' });
  });

  afterAll(() => sut?.close());

  it('counts a client by its own address, whatever X-Forwarded-For it sends', async () => {
    // A loopback address of this test's own, so that no other test's requests share its counter.
    const client = `127.0.${1 + Math.floor(Math.random() * 250)}.${2 + Math.floor(Math.random() * 250)}`;
    const { port } = new URL(sut.url);
    const get = (forwardedFor: string) =>
      new Promise<number>((resolve, reject) => {
        const req = httpRequest(
          {
            host: '127.0.0.1',
            port,
            path: '/api/v1/stores',
            localAddress: client,
            headers: { ...bearer('bob'), 'X-Forwarded-For': forwardedFor },
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end();
      });

    const statuses: number[] = [];
    for (let i = 1; i <= 5; i++) statuses.push(await get(`198.51.100.${i}`));

    expect(statuses).toEqual([200, 200, 200, 429, 429]);
  });
});
