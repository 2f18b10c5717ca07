import { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { OperationsModule } from './operations.module';

describe(OperationsModule.name, () => {
  let app: INestApplication;
  let natsUp = true;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [OperationsModule.forRoot({ service: 'test', readiness: () => ({ nats: async () => natsUp }) })],
    }).compile();
    app = moduleRef.createNestApplication();
    await app.init();
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
