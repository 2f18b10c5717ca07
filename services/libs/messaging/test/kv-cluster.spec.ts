import { NatsCluster } from '@urumi/sandbox';
import { connect, NatsConnection, NatsError } from 'nats';
import { isRevisionConflict, KeyValueBuckets } from '../src/kv';

jest.setTimeout(120_000);

/**
 * Compare-and-set on a bucket kept by three servers, as production's NATS keeps every bucket: a write that loses the
 * race must be told apart from a failure, however the cluster words it.
 */
describe('KV compare-and-set on a 3-server JetStream cluster', () => {
  let cluster: NatsCluster;
  let nc: NatsConnection;

  beforeAll(async () => {
    cluster = await NatsCluster.start({
      size: 3,
      config: (server, all) => `
        server_name: n${server.index}
        listen: 127.0.0.1:${server.client}
        http: 127.0.0.1:${server.monitor}
        jetstream { store_dir: "${server.storeDir}" }
        cluster {
          name: kv-test
          listen: 127.0.0.1:${server.cluster}
          routes: [${all.map((peer) => `nats://127.0.0.1:${peer.cluster}`).join(', ')}]
        }
      `,
    });
    nc = await connect({ servers: cluster.urls });
  });

  afterAll(async () => {
    await nc?.close();
    await cluster?.down();
  });

  it('reports every lost race as a revision conflict, also those the stream leader refuses before they are proposed', async () => {
    const kv = await new KeyValueBuckets(nc, 3).open('cas-race');
    const errors: unknown[] = [];
    let wins = 0;
    for (let round = 0; round < 20; round++) {
      const revision = await kv.put('counter', String(round));
      // Writers racing on one revision, as gateway replicas counting hits on one rate-limit counter do.
      const outcomes = await Promise.allSettled(
        Array.from({ length: 8 }, (_, i) => kv.update('counter', `${round}.${i}`, revision)),
      );
      wins += outcomes.filter((outcome) => outcome.status === 'fulfilled').length;
      errors.push(...outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason] : [])));
    }

    expect(wins).toBe(20);
    expect(errors).toHaveLength(20 * 7);
    const unrecognised = errors.filter((error) => !isRevisionConflict(error));
    expect(unrecognised.map((error) => (error instanceof NatsError ? error.api_error : String(error)))).toEqual([]);
  });
});
