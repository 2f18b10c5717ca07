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
