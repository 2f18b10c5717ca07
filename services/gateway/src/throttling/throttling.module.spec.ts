import { Controller, Get, Global, Module, Post } from '@nestjs/common';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { KeyValueBuckets } from '@urumi/messaging';
import { scratchFile, testSandbox } from '@urumi/sandbox';
import { randomUUID } from 'node:crypto';
import { connect, NatsConnection } from 'nats';
import request, { Response } from 'supertest';
import { AuthModule } from '../auth';
import { gatewayConfigFromEnv, trustedHops } from '../config/gateway.config';
import { fastifyApp } from '../../test/fastify-app';
import { CreateRateLimit, SkipRateLimit } from './rate-limit.decorators';
import { ThrottlingConfig } from './throttling.config';
import { ThrottlingModule } from './throttling.module';

jest.setTimeout(30_000);

const users = {
  alice: { name: 'alice', role: 'tenant', token: 'alice-secret-0123456789abcdef' },
  bob: { name: 'bob', role: 'tenant', token: 'bob-secret-0123456789abcdef' },
  carol: { name: 'carol', role: 'tenant', token: 'carol-secret-0123456789abcdef' },
} as const;
type User = keyof typeof users;

@Controller()
class ThingsController {
  @Get('things')
  list(): { items: never[] } {
    return { items: [] };
  }

  @Post('things')
  @CreateRateLimit()
  create(): { created: boolean } {
    return { created: true };
  }

  @Get('healthz')
  health(): { status: string } {
    return { status: 'ok' };
  }

  @Get('free')
  @SkipRateLimit()
  free(): { free: boolean } {
    return { free: true };
  }
}

describe(ThrottlingModule.name, () => {
  const tokensFile = scratchFile('tokens.json', Object.values(users));
  const apps: NestFastifyApplication[] = [];
  let nc: NatsConnection;
  let bucket: string;

  beforeAll(async () => {
    nc = await connect({ servers: await testSandbox().natsUrl() });
  });

  afterAll(async () => {
    await nc?.close();
  });

  beforeEach(() => {
    bucket = `rate-limits-test-${randomUUID().slice(0, 8)}`;
  });

  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
    await (await nc.jetstreamManager()).streams.delete(`KV_${bucket}`).catch(() => undefined);
  });

  /** A gateway replica: its own NATS connection, the shared bucket; the client IP comes from X-Forwarded-For. */
  async function replica(
    limits: Partial<ThrottlingConfig> = {},
  ): Promise<(method: 'get' | 'post', path: string, who: { user?: User; ip: string }) => Promise<Response>> {
    const connection = await connect({ servers: await testSandbox().natsUrl() });
    @Global()
    @Module({
      providers: [{ provide: KeyValueBuckets, useValue: new KeyValueBuckets(connection) }],
      exports: [KeyValueBuckets],
    })
    class NatsModule {}
    const moduleRef = await Test.createTestingModule({
      imports: [
        NatsModule,
        // Before AuthModule, so that requests with bad tokens count against their IP too.
        ThrottlingModule.forRoot({ userPerMinute: 3, ipPerMinute: 5, createsPerMinute: 2, bucket, ...limits }),
        AuthModule.forRoot({ mode: 'tokens', tokensFile }),
      ],
      controllers: [ThingsController],
    }).compile();
    // Behind one proxy, as the gateway sets it up from TRUSTED_PROXIES: X-Forwarded-For names the client.
    const app = await fastifyApp(moduleRef, {
      server: { trustProxy: trustedHops(gatewayConfigFromEnv({ TRUSTED_PROXIES: '1' }).trustedProxies) },
    });
    apps.push(app);
    const close = app.close.bind(app);
    app.close = async () => {
      await close();
      await connection.close();
    };
    return (method, path, { user, ip }) => {
      const req = request(app.getHttpServer())[method](path).set('X-Forwarded-For', ip);
      return user ? req.set('Authorization', `Bearer ${users[user].token}`) : req;
    };
  }

  it('answers the request over the per-user limit with 429, Retry-After and RateLimit headers', async () => {
    const call = await replica();
    const allowed = [];
    for (let i = 0; i < 3; i++) allowed.push(await call('get', '/things', { user: 'alice', ip: '10.0.0.1' }));

    const refused = await call('get', '/things', { user: 'alice', ip: '10.0.0.1' });

    expect(allowed.map((res) => res.status)).toEqual([200, 200, 200]);
    expect(allowed.map((res) => res.headers['ratelimit-remaining'])).toEqual(['2', '1', '0']);
    expect(allowed[0]!.headers['ratelimit-limit']).toBe('3');
    expect(allowed[0]!.headers['ratelimit-policy']).toBe('5;w=60;comment="ip", 3;w=60;comment="user"');
    expect(Number(allowed[0]!.headers['ratelimit-reset'])).toBeGreaterThan(0);
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual({
      statusCode: 429,
      error: 'Too Many Requests',
      message: expect.stringMatching(
        /^rate limit exceeded: at most 3 requests per user per minute; try again in \d+ s$/,
      ),
    });
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(refused.body.message).toContain(`try again in ${retryAfter} s`);
    expect(refused.headers['ratelimit-limit']).toBe('3');
    expect(refused.headers['ratelimit-remaining']).toBe('0');
    expect(refused.headers['ratelimit-reset']).toBe(String(retryAfter));
  });

  it('counts a user across IP addresses, and an IP address across users', async () => {
    const call = await replica();
    for (let i = 0; i < 3; i++) await call('get', '/things', { user: 'alice', ip: '10.0.0.1' });

    const aliceElsewhere = await call('get', '/things', { user: 'alice', ip: '10.0.0.2' });
    const bobSameIp = await call('get', '/things', { user: 'bob', ip: '10.0.0.1' });
    // From 10.0.0.1 came alice's 3 and bob's 1: carol's is the 5th and last it may send.
    const carolSameIp = await call('get', '/things', { user: 'carol', ip: '10.0.0.1' });
    const carolElsewhere = await call('get', '/things', { user: 'carol', ip: '10.0.0.3' });

    expect(aliceElsewhere.status).toBe(429);
    expect(aliceElsewhere.body.message).toMatch(/per user/);
    expect(bobSameIp.status).toBe(200);
    expect(carolSameIp.status).toBe(200);
    expect((await call('get', '/things', { user: 'carol', ip: '10.0.0.1' })).status).toBe(429);
    expect(carolElsewhere.status).toBe(200);
  });

  it('refuses an IP address over its limit whoever asks, naming the per-IP limit', async () => {
    const call = await replica();
    const who: User[] = ['alice', 'bob', 'carol', 'alice', 'bob'];
    for (const user of who) expect((await call('get', '/things', { user, ip: '10.0.0.9' })).status).toBe(200);

    const refused = await call('get', '/things', { user: 'carol', ip: '10.0.0.9' });

    expect(refused.status).toBe(429);
    expect(refused.body.message).toMatch(/^rate limit exceeded: at most 5 requests per IP address per minute/);
    expect(refused.headers['ratelimit-limit']).toBe('5');
  });

  it('counts requests with bad tokens against their IP address', async () => {
    const call = await replica();
    for (let i = 0; i < 5; i++) expect((await call('get', '/things', { ip: '10.0.0.7' })).status).toBe(401);

    expect((await call('get', '/things', { user: 'alice', ip: '10.0.0.7' })).status).toBe(429);
  });

  it('limits @CreateRateLimit() handlers per user, more strictly than the rest', async () => {
    const call = await replica({ userPerMinute: 10, ipPerMinute: 10 });
    const creates = [];
    for (let i = 0; i < 3; i++) creates.push(await call('post', '/things', { user: 'alice', ip: '10.0.0.1' }));

    expect(creates.map((res) => res.status)).toEqual([201, 201, 429]);
    expect(creates[0]!.headers['ratelimit-limit']).toBe('2');
    expect(creates[0]!.headers['ratelimit-policy']).toBe(
      '10;w=60;comment="ip", 10;w=60;comment="user", 2;w=60;comment="creates"',
    );
    expect(creates[2]!.body.message).toMatch(/^rate limit exceeded: at most 2 creations per user per minute/);
    expect((await call('post', '/things', { user: 'bob', ip: '10.0.0.1' })).status).toBe(201);
    expect((await call('get', '/things', { user: 'alice', ip: '10.0.0.1' })).status).toBe(200);
  });

  it('never limits the probe paths or @SkipRateLimit() handlers', async () => {
    const call = await replica({ userPerMinute: 1, ipPerMinute: 1 });

    for (let i = 0; i < 5; i++) {
      const health = await call('get', '/healthz', { ip: '10.0.0.1' });
      const free = await call('get', '/free', { user: 'alice', ip: '10.0.0.1' });
      expect([health.status, free.status]).toEqual([200, 200]);
      expect(free.headers['ratelimit-limit']).toBeUndefined();
    }
  });

  it('shares the counters between gateway replicas', async () => {
    const first = await replica();
    const second = await replica();

    const statuses = [];
    for (const call of [first, second, first, second])
      statuses.push((await call('get', '/things', { user: 'alice', ip: '10.0.0.1' })).status);

    expect(statuses).toEqual([200, 200, 200, 429]);
  });

  it('is exact across replicas under concurrent hits: the limit passes, no more and no fewer', async () => {
    const limits = { userPerMinute: 10, ipPerMinute: 1000 };
    const replicas = [await replica(limits), await replica(limits)];

    const statuses = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const call = replicas[i % 2]!;
        return (await call('get', '/things', { user: 'alice', ip: '10.0.0.1' })).status;
      }),
    );

    expect(statuses.filter((status) => status === 200)).toHaveLength(10);
    expect(statuses.filter((status) => status === 429)).toHaveLength(30);
  });

  it('fails open when its counters cannot be reached: the API answers, unlimited', async () => {
    const call = await replica();
    for (let i = 0; i < 3; i++) await call('get', '/things', { user: 'alice', ip: '10.0.0.1' });
    expect((await call('get', '/things', { user: 'alice', ip: '10.0.0.1' })).status).toBe(429);
    await call('get', '/things', { user: 'bob', ip: '10.0.0.2' });

    await (await nc.jetstreamManager()).streams.delete(`KV_${bucket}`);
    const withoutCounters = [];
    for (let i = 0; i < 6; i++) withoutCounters.push(await call('get', '/things', { user: 'bob', ip: '10.0.0.2' }));
    // A refusal this replica counted stands for the rest of its window: counts only grow within one.
    expect((await call('get', '/things', { user: 'alice', ip: '10.0.0.1' })).status).toBe(429);

    expect(withoutCounters.map((res) => [res.status, res.headers['ratelimit-limit']])).toEqual(
      withoutCounters.map(() => [200, undefined]),
    );
  });
});
