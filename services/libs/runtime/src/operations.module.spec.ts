import { BeforeApplicationShutdown, Injectable } from '@nestjs/common';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { MetricsServer, OperationsModule, ShutdownState } from './operations.module';

describe(OperationsModule.name, () => {
  let app: NestFastifyApplication;
  let natsUp = true;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [OperationsModule.forRoot({ service: 'test', readiness: () => ({ nats: async () => natsUp }) })],
    }).compile();
    app = moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter());
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
  });

  afterAll(() => app.close());

  it('answers /healthz while the process lives', async () => {
    expect((await request(app.getHttpServer()).get('/healthz')).body).toEqual({ status: 'ok' });
  });

  it('answers /readyz 200 when every check passes and 503 naming the one that does not', async () => {
    natsUp = true;
    expect((await request(app.getHttpServer()).get('/readyz')).status).toBe(200);

    natsUp = false;
    const res = await request(app.getHttpServer()).get('/readyz');
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ status: 'not ready', checks: { nats: false } });
  });

  it('serves Prometheus metrics labelled with the service', async () => {
    const res = await request(app.getHttpServer()).get('/metrics');
    expect(res.headers['content-type']).toContain('text/plain');
    expect(res.text).toMatch(/process_cpu_seconds_total\{service="test"\}/);
  });
});

describe(`${OperationsModule.name} with a metrics port`, () => {
  let app: NestFastifyApplication;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        OperationsModule.forRoot({
          service: 'public',
          readiness: () => ({}),
          metrics: { host: '127.0.0.1', port: 0 },
        }),
      ],
    }).compile();
    app = moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter());
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
  });

  afterAll(() => app.close());

  it('serves /metrics only on its own port', async () => {
    const metrics = `http://127.0.0.1:${app.get(MetricsServer).port}`;

    expect((await request(app.getHttpServer()).get('/metrics')).status).toBe(404);
    expect((await request(app.getHttpServer()).get('/healthz')).status).toBe(200);
    const res = await request(metrics).get('/metrics');
    expect(res.status).toBe(200);
    expect(res.text).toMatch(/process_cpu_seconds_total\{service="public"\}/);
    expect((await request(metrics).get('/healthz')).status).toBe(404);
  });

  it('stops listening when the application closes', async () => {
    const server = app.get(MetricsServer);
    const port = server.port;
    await app.close();

    await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
  });
});

describe(`${OperationsModule.name} while shutting down`, () => {
  /** Work that takes a while to finish at shutdown, as a leader's drain does. */
  @Injectable()
  class SlowToStop implements BeforeApplicationShutdown {
    release: () => void = () => undefined;
    private signalReached: () => void = () => undefined;
    readonly reached = new Promise<void>((resolve) => (this.signalReached = resolve));

    beforeApplicationShutdown(): Promise<void> {
      this.signalReached();
      return new Promise((resolve) => (this.release = resolve));
    }
  }

  it('answers /readyz 503 and aborts its signal from the first shutdown hook, while the rest still drains', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [OperationsModule.forRoot({ service: 'test', readiness: () => ({ nats: async () => true }) })],
      providers: [SlowToStop],
    }).compile();
    const app = moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter());
    await app.listen(0, '127.0.0.1');
    const url = await app.getUrl();
    const sut = app.get(ShutdownState);
    expect([(await request(url).get('/readyz')).status, sut.signal.aborted]).toEqual([200, false]);

    const closing = app.close();
    await app.get(SlowToStop).reached;
    const res = await request(url).get('/readyz');
    expect([res.status, res.body, sut.signal.aborted]).toEqual([503, { status: 'shutting down', checks: {} }, true]);
    expect((await request(url).get('/healthz')).status).toBe(200);

    app.get(SlowToStop).release();
    await closing;
  });
});
