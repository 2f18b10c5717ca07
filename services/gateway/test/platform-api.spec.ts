import { Step, type PlatformView } from '@urumi/contracts';
import { eventually } from '@urumi/sandbox';
import { connect, NatsConnection } from 'nats';
import request from 'supertest';
import { PlatformController } from '../src/platform/platform.controller';
import { bearer, Harness, startGateway, uniqueStoreName, users } from './gateway-harness';
import { publishStatus } from './stores-stream';

jest.setTimeout(60_000);

describe(PlatformController.name, () => {
  let sut: Harness;
  let nc: NatsConnection;
  const http = () => request(sut.app.getHttpServer());
  const view = async () => (await http().get('/api/v1/platform').set(bearer('admin')).expect(200)).body as PlatformView;

  beforeAll(async () => {
    sut = await startGateway();
    nc = await connect({ servers: sut.natsUrl });
  });

  afterAll(async () => {
    await nc?.close();
    await sut?.close();
  });

  it("tells the fleet from the read model and the event bus from NATS: a failure, a store waiting, the gateway's lag", async () => {
    const create = async (name: string) =>
      (await http().post('/api/v1/stores').set(bearer('alice')).send({ name, engine: 'medusa' }).expect(202)).body as {
        id: string;
      };
    const [failing, waiting] = [uniqueStoreName('failing'), uniqueStoreName('waiting')];
    const failed = await create(failing);
    await create(waiting);
    const message = 'namespace store-x already exists and was not created by the platform';
    await publishStatus(nc, { id: failed.id, name: failing, owner: users.alice.name }, Step.APPROVED);
    await publishStatus(nc, { id: failed.id, name: failing, owner: users.alice.name }, Step.FAILED, {
      reason: 'NamespaceNotOwned',
      message,
    });

    const seen = await eventually(async () => {
      const body = await view();
      expect(body.recentFailures).toContainEqual(
        expect.objectContaining({ id: failed.id, name: failing, step: 'failed', reason: 'NamespaceNotOwned', message }),
      );
      return body;
    });
    // Every step is counted, including those no store is in.
    expect(Object.keys(seen.stores)).toEqual(expect.arrayContaining(['queued', 'ready', 'failed', 'deleting']));
    expect(Object.keys(seen.stores)).not.toContain('deleted');
    expect(seen.stores['failed']).toBeGreaterThanOrEqual(1);
    // The second store was never approved: it waits for quota.
    const quota = seen.stages.find((stage) => stage.stage === 'quota')!;
    expect(quota.stores).toBeGreaterThanOrEqual(1);
    expect(seen.stages.map((stage) => stage.stage)).toEqual(['quota', 'provisioner', 'cleanup']);
    expect(seen.recentFailures.length).toBeLessThanOrEqual(10);
    const times = seen.recentFailures.map((failure) => failure.at);
    expect(times).toEqual([...times].sort().reverse());
    // NATS's own figures for the gateway's consumer (which feeds the read model), and the dead letters.
    expect(seen.consumers).toEqual([
      {
        stream: 'STORES',
        consumer: 'gateway-store-all',
        pending: expect.any(Number),
        ackPending: expect.any(Number),
        redelivered: expect.any(Number),
      },
    ]);
    expect(seen.deadLetters).toEqual(expect.any(Number));
  });

  it('is for admins: a tenant gets 403, no token 401', async () => {
    expect((await http().get('/api/v1/platform').set(bearer('bob'))).status).toBe(403);
    expect((await http().get('/api/v1/platform')).status).toBe(401);
  });

  it('is in the OpenAPI document', async () => {
    const { body } = await http().get('/api/docs/openapi.json').expect(200);
    expect(Object.keys(body.paths['/api/v1/platform'].get.responses).sort()).toEqual([
      '200',
      '401',
      '403',
      '429',
      '503',
    ]);
  });
});
