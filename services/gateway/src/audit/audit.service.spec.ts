import { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ActorSchema, create, streams } from '@urumi/contracts';
import { defineStream, JetStreamPublisher, MessagingModule, NATS_CONNECTION } from '@urumi/messaging';
import { NatsCluster, renderChartNats, startChartNats, testSandbox } from '@urumi/sandbox';
import { NatsConnection } from 'nats';
import { AuditLog } from './audit.service';

jest.setTimeout(60_000);

const CONNECTION_NAME = 'audit-page-test';
const ENTRIES = 30;

/** What the server counts as received from our connection: every request (and pull) the client sent. */
async function requestsSent(cluster: NatsCluster): Promise<number> {
  const res = await fetch(`${cluster.monitorUrls[0]}/connz`);
  const { connections } = (await res.json()) as { connections: { name?: string; in_msgs: number }[] };
  const connection = connections.find((c) => c.name === CONNECTION_NAME);
  if (!connection) throw new Error(`no connection named ${CONNECTION_NAME} in /connz`);
  return connection.in_msgs;
}

// The audit trail as the gateway reads it in the cluster: signed in as the gateway, under the chart's grants.
describe(AuditLog.name, () => {
  let cluster: NatsCluster;
  let app: INestApplicationContext;
  let sut: AuditLog;

  const sequencesOf = (page: { items: readonly { sequence: number }[] }) => page.items.map((item) => item.sequence);
  const range = (from: number, to: number) => Array.from({ length: from - to + 1 }, (_, i) => from - i);

  beforeAll(async () => {
    const rendered = await renderChartNats(testSandbox());
    cluster = await startChartNats(rendered, 1);
    const nats = { servers: cluster.urls, user: 'gateway', password: rendered.passwords['gateway'] };
    app = await NestFactory.createApplicationContext(
      MessagingModule.forRoot({ nats, name: CONNECTION_NAME, streams: [defineStream(streams.audit)] }),
      { logger: false },
    );
    sut = new AuditLog(app.get(JetStreamPublisher), app.get<NatsConnection>(NATS_CONNECTION));
    for (let n = 1; n <= ENTRIES; n++) {
      await sut.record({
        actor: create(ActorSchema, { user: `user-${n}`, role: 'tenant', sourceIp: '127.0.0.1' }),
        action: 'create',
        storeId: `store-${n}`,
        storeName: `shop-${n}`,
        statusCode: 202,
        requestId: `request-${n}`,
      });
    }
  });

  afterAll(async () => {
    await app?.close();
    await cluster?.down();
  });

  it('reads pages newest first: limit and before choose the entries, next leads to the older ones', async () => {
    const newest = await sut.page(10);
    expect(sequencesOf(newest)).toEqual(range(30, 21));
    expect(newest.items[0]).toMatchObject({ user: 'user-30', storeName: 'shop-30', requestId: 'request-30' });
    expect(newest.next).toBe(21);

    const middle = await sut.page(10, newest.next);
    expect(sequencesOf(middle)).toEqual(range(20, 11));
    expect(middle.next).toBe(11);

    const oldest = await sut.page(10, middle.next);
    expect(sequencesOf(oldest)).toEqual(range(10, 1));
    expect(oldest.next).toBeUndefined();

    const everything = await sut.page(50);
    expect(sequencesOf(everything)).toEqual(range(30, 1));
    expect(everything.next).toBeUndefined();
    expect(await sut.page(10, 1)).toEqual({ items: [] });
  });

  it('costs the same few NATS requests per page wherever the page is, with no permission refused', async () => {
    const cost = async (limit: number, before?: number) => {
      const sent = await requestsSent(cluster);
      const page = await sut.page(limit, before);
      expect(page.items).toHaveLength(limit);
      return (await requestsSent(cluster)) - sent;
    };

    const costs = [await cost(5), await cost(5, 16), await cost(5, 6), await cost(25)];

    // Stream info (the page's and the ordered consumer's), the consumer's creation, its one pull, its deletion.
    expect(costs).toEqual([5, 5, 5, 5]);
    expect((await cluster.log(0)).split('\n').filter((line) => /violation/i.test(line))).toEqual([]);
  });
});
