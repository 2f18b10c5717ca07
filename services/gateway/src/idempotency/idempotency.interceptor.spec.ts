import {
  ArgumentsHost,
  Body,
  Catch,
  Controller,
  Delete,
  ExceptionFilter,
  Global,
  HttpCode,
  Injectable,
  Module,
  NotFoundException,
  Param,
  Post,
  Req,
  Res,
} from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { KeyValueBuckets } from '@urumi/messaging';
import { eventually, testSandbox } from '@urumi/sandbox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { fastifyApp } from '../../test/fastify-app';
import { randomUUID } from 'node:crypto';
import { connect, NatsConnection } from 'nats';
import request from 'supertest';
import { bodyFingerprint, IdempotencyInterceptor, idempotencyStoreKey } from './idempotency.interceptor';
import { IdempotencyModule } from './idempotency.module';
import { IdempotencyOptions } from './idempotency.options';
import { IdempotencyStore, IdempotentRun } from './idempotency.store';
import { Idempotent } from './idempotent.decorator';

jest.setTimeout(30_000);

/** A domain error an exception filter maps to 404, as the gateway's StoreNotFoundError. */
class NotYoursError extends Error {}

@Catch(NotYoursError)
class NotYoursFilter implements ExceptionFilter {
  catch(error: NotYoursError, host: ArgumentsHost): void {
    host
      .switchToHttp()
      .getResponse<FastifyReply>()
      .status(404)
      .send({ statusCode: 404, error: 'Not Found', message: error.message });
  }
}

@Injectable()
class Calls {
  private readonly counts = new Map<string, number>();
  gate: Promise<void> = Promise.resolve();
  /** What the interceptor handed each run of `flaky`. */
  readonly runs: IdempotentRun[] = [];

  hit(handler: string): number {
    const count = (this.counts.get(handler) ?? 0) + 1;
    this.counts.set(handler, count);
    return count;
  }

  of(handler: string): number {
    return this.counts.get(handler) ?? 0;
  }
}

@Controller('things')
class ThingsController {
  constructor(private readonly calls: Calls) {}

  @Post()
  @HttpCode(202)
  @Idempotent()
  create(
    @Body() body: Record<string, unknown>,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) res: FastifyReply,
  ): Record<string, unknown> {
    this.calls.hit('create');
    const id = req.idempotentRun?.resourceId ?? randomUUID();
    void res.header('Location', `/things/${id}`);
    return { id, resumed: req.idempotentRun?.resumed ?? false, ...body };
  }

  @Post('slow')
  @Idempotent()
  async slow(): Promise<{ done: boolean }> {
    this.calls.hit('slow');
    await this.calls.gate;
    return { done: true };
  }

  @Post('refused')
  @Idempotent()
  refused(): never {
    throw new NotFoundException(`thing ${this.calls.hit('refused')} not found`);
  }

  @Post('not-yours')
  @Idempotent()
  notYours(): never {
    throw new NotYoursError(`not yours (call ${this.calls.hit('not-yours')})`);
  }

  @Post('flaky')
  @Idempotent()
  flaky(@Req() req: FastifyRequest): { attempt: number } {
    const attempt = this.calls.hit('flaky');
    if (req.idempotentRun) this.calls.runs.push(req.idempotentRun);
    if (attempt === 1) throw new Error('database hiccup');
    return { attempt };
  }

  @Delete(':id')
  @Idempotent()
  remove(@Param('id') id: string): { id: string; receipt: string } {
    this.calls.hit('remove');
    return { id, receipt: randomUUID() };
  }
}

describe(IdempotencyInterceptor.name, () => {
  let nc: NatsConnection;
  const buckets: string[] = [];
  let sut: NestFastifyApplication;
  let calls: Calls;
  const http = () => request(sut.getHttpServer());
  const as = (user: string, key?: string) =>
    key === undefined ? { 'X-User': user } : { 'X-User': user, 'Idempotency-Key': key };

  beforeAll(async () => {
    nc = await connect({ servers: await testSandbox().natsUrl() });
  });

  afterAll(async () => {
    await nc?.close();
  });

  /** A gateway with its own bucket: answers kept by an earlier start are gone. */
  async function start(options: IdempotencyOptions = {}): Promise<void> {
    const bucket = `idempotency-test-${randomUUID().slice(0, 8)}`;
    buckets.push(bucket);
    @Global()
    @Module({
      providers: [{ provide: KeyValueBuckets, useValue: new KeyValueBuckets(nc) }],
      exports: [KeyValueBuckets],
    })
    class NatsModule {}
    const moduleRef = await Test.createTestingModule({
      imports: [NatsModule, IdempotencyModule.forRoot({ bucket, ...options })],
      controllers: [ThingsController],
      providers: [Calls, { provide: APP_FILTER, useClass: NotYoursFilter }],
    }).compile();
    sut = await fastifyApp(moduleRef, {
      // What the AuthGuard does: the caller, on the request.
      configure: (fastify) =>
        fastify.addHook('onRequest', async (req) => {
          const user = req.headers['x-user'];
          if (typeof user === 'string') req.principal = { name: user, role: 'tenant' };
        }),
    });
    calls = sut.get(Calls);
  }

  beforeEach(async () => {
    await start();
  });

  afterEach(async () => {
    await sut.close();
    const jsm = await nc.jetstreamManager();
    await Promise.all(buckets.splice(0).map((bucket) => jsm.streams.delete(`KV_${bucket}`)));
  });

  it('replays the first answer to a retry, without running the handler again', async () => {
    const first = await http().post('/things').set(as('alice', 'k-1')).send({ name: 'shop', engine: 'medusa' });
    const retry = await http().post('/things').set(as('alice', 'k-1')).send({ engine: 'medusa', name: 'shop' });

    expect(first.status).toBe(202);
    expect(retry.status).toBe(202);
    expect(retry.body).toEqual(first.body);
    expect(retry.text).toBe(first.text);
    expect(retry.headers['location']).toBe(first.headers['location']);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(calls.of('create')).toBe(1);
  });

  it('refuses the same key with a different body with 422', async () => {
    await http().post('/things').set(as('alice', 'k-1')).send({ name: 'shop' });

    const other = await http().post('/things').set(as('alice', 'k-1')).send({ name: 'another-shop' });

    expect(other.status).toBe(422);
    expect(other.body).toEqual({
      statusCode: 422,
      error: 'Unprocessable Entity',
      message: 'Idempotency-Key "k-1" was used with a different request body',
    });
    expect(calls.of('create')).toBe(1);
  });

  it('keeps keys apart per caller, method and path', async () => {
    await http().post('/things').set(as('alice', 'k-1')).send({ name: 'shop' });

    const bob = await http().post('/things').set(as('bob', 'k-1')).send({ name: 'shop' });
    const remove = await http().delete('/things/t-1').set(as('alice', 'k-1'));

    expect([bob.status, remove.status]).toEqual([202, 200]);
    expect(calls.of('create')).toBe(2);
    expect(calls.of('remove')).toBe(1);
  });

  it('runs the handler every time without a key', async () => {
    await http().post('/things').set(as('alice')).send({ name: 'shop' });
    await http().post('/things').set(as('alice')).send({ name: 'shop' });

    expect(calls.of('create')).toBe(2);
  });

  it('replays DELETE answers too', async () => {
    const first = await http().delete('/things/t-1').set(as('alice', 'd-1'));
    const retry = await http().delete('/things/t-1').set(as('alice', 'd-1'));

    expect(retry.status).toBe(200);
    expect(retry.body).toEqual(first.body);
    expect(calls.of('remove')).toBe(1);
  });

  it('answers 409 to a duplicate that arrives while the first request is still running', async () => {
    let release!: () => void;
    calls.gate = new Promise((resolve) => (release = resolve));
    const first = http()
      .post('/things/slow')
      .set(as('alice', 's-1'))
      .send({})
      .then((res) => res);
    while (calls.of('slow') === 0) await new Promise((resolve) => setTimeout(resolve, 10));

    const duplicate = await http().post('/things/slow').set(as('alice', 's-1')).send({});
    release();

    expect(duplicate.status).toBe(409);
    expect(duplicate.headers['retry-after']).toBe('1');
    expect(duplicate.body.message).toBe('a request with Idempotency-Key "s-1" is still in progress; retry it later');
    expect((await first).status).toBe(201);
    expect((await http().post('/things/slow').set(as('alice', 's-1')).send({})).status).toBe(201);
    expect(calls.of('slow')).toBe(1);
  });

  it('lets exactly one of many concurrent duplicates run', async () => {
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => http().post('/things').set(as('alice', 'c-1')).send({ name: 'shop' })),
    );

    expect(calls.of('create')).toBe(1);
    expect(answers.map((res) => res.status).filter((status) => status !== 202 && status !== 409)).toEqual([]);
    expect(new Set(answers.filter((res) => res.status === 202).map((res) => res.body.id)).size).toBe(1);
  });

  it('keeps and replays a 4xx answer', async () => {
    const first = await http().post('/things/refused').set(as('alice', 'r-1')).send({});
    const retry = await http().post('/things/refused').set(as('alice', 'r-1')).send({});

    expect(first.status).toBe(404);
    expect(first.body).toEqual({ statusCode: 404, error: 'Not Found', message: 'thing 1 not found' });
    expect(retry.status).toBe(404);
    expect(retry.body).toEqual(first.body);
    expect(calls.of('refused')).toBe(1);
  });

  it('does not keep a 5xx answer: a retry runs at once, and creates what the first run may have begun', async () => {
    const first = await http().post('/things/flaky').set(as('alice', 'f-1')).send({});
    const retry = await http().post('/things/flaky').set(as('alice', 'f-1')).send({});
    const again = await http().post('/things/flaky').set(as('alice', 'f-1')).send({});

    expect(first.status).toBe(500);
    expect(retry.status).toBe(201);
    expect(calls.runs).toEqual([
      { resourceId: expect.any(String), resumed: false },
      { resourceId: calls.runs[0]?.resourceId, resumed: true },
    ]);
    expect(retry.body).toEqual({ attempt: 2 });
    expect(again.body).toEqual({ attempt: 2 });
    expect(calls.of('flaky')).toBe(2);
  });

  it('lets a request with another body have a key whose run failed, as a new request', async () => {
    await http().post('/things/flaky').set(as('alice', 'f-1')).send({});
    await http().post('/things/flaky').set(as('alice', 'f-1')).send({ other: 'body' });

    expect(calls.runs.map((run) => run.resumed)).toEqual([false, false]);
    expect(calls.runs[1]?.resourceId).not.toBe(calls.runs[0]?.resourceId);
  });

  it('keeps the 4xx of domain errors it is told how to describe', async () => {
    const refusalsRun = async () => {
      await http().post('/things/not-yours').set(as('alice', 'n-1')).send({});
      return http().post('/things/not-yours').set(as('alice', 'n-1')).send({});
    };
    expect((await refusalsRun()).body.message).toBe('not yours (call 2)');
    await sut.close();

    await start({
      describeError: (error) => (error instanceof NotYoursError ? [404, error.message] : [500, 'internal error']),
    });
    const retry = await refusalsRun();

    expect(retry.status).toBe(404);
    expect(retry.body).toEqual({ statusCode: 404, error: 'Not Found', message: 'not yours (call 1)' });
  });

  it('takes over the key of a request that never finished, once its claim has timed out, to create the same thing', async () => {
    await sut.close();
    await start({ pendingTimeoutMs: 300 });
    const crashed = await sut
      .get(IdempotencyStore)
      .claim(idempotencyStoreKey('alice', 'POST', '/things', 'k-1'), bodyFingerprint({ name: 'shop' }));
    if (crashed.kind !== 'claimed') throw new Error(`the key was not free: ${crashed.kind}`);

    const meanwhile = await http().post('/things').set(as('alice', 'k-1')).send({ name: 'shop' });
    // The claim's 300 ms run out in real time; until then every retry is refused as in progress.
    const later = await eventually(async () => {
      const retry = await http().post('/things').set(as('alice', 'k-1')).send({ name: 'shop' });
      expect(retry.status).toBe(202);
      return retry;
    }, 5_000);

    expect(meanwhile.status).toBe(409);
    expect(later.body).toEqual({ id: crashed.resourceId, resumed: true, name: 'shop' });
    expect(calls.of('create')).toBe(1);
  });

  it('never takes over the timed-out claim of a request with another body: that one may have got anywhere', async () => {
    await sut.close();
    await start({ pendingTimeoutMs: 300 });
    await sut
      .get(IdempotencyStore)
      .claim(idempotencyStoreKey('alice', 'POST', '/things', 'k-1'), bodyFingerprint({ name: 'shop' }));
    await new Promise((resolve) => setTimeout(resolve, 400));

    const other = await http().post('/things').set(as('alice', 'k-1')).send({ name: 'another-shop' });

    expect(other.status).toBe(422);
    expect(calls.of('create')).toBe(0);
  });

  it.each([
    ['an empty key', ''],
    ['a key of 256 characters', 'k'.repeat(256)],
  ])('refuses %s with 400', async (_case, key) => {
    const res = await http().post('/things').set(as('alice', key)).send({ name: 'shop' });

    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: 'Idempotency-Key must be 1 to 255 characters long',
    });
    expect(calls.of('create')).toBe(0);
  });

  it('accepts a key of 255 characters', async () => {
    expect(
      (
        await http()
          .post('/things')
          .set(as('alice', 'k'.repeat(255)))
          .send({ name: 'shop' })
      ).status,
    ).toBe(202);
  });
});
