import { TcpProxy, testSandbox } from '@urumi/sandbox';
import { connect, NatsConnection } from 'nats';
import { Harness, startGateway } from './gateway-harness';

/**
 * For a describe block: gateways on the test sandbox's NATS, some behind a TcpProxy (which can hold back what NATS
 * sends them), each closed (its proxy released first) after every test; and one plain NATS connection for the test's
 * own reads and writes.
 */
export function gatewaysPerTest(): {
  readonly nats: () => NatsConnection;
  gateway(env?: Record<string, string>): Promise<Harness>;
  behindProxy(env?: Record<string, string>): Promise<{ sut: Harness; proxy: TcpProxy }>;
} {
  let nc: NatsConnection | undefined;
  const gateways: Harness[] = [];
  const proxies: TcpProxy[] = [];

  beforeAll(async () => {
    nc = await connect({ servers: await testSandbox().natsUrl() });
  });
  afterEach(async () => {
    for (const proxy of proxies) proxy.release();
    await Promise.all(gateways.splice(0).map((gateway) => gateway.close()));
    await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
  });
  afterAll(async () => {
    await nc?.close();
  });

  const gateway = async (env: Record<string, string> = {}) => {
    const started = await startGateway(env);
    gateways.push(started);
    return started;
  };
  return {
    nats: () => nc!,
    gateway,
    async behindProxy(env = {}) {
      const proxy = await TcpProxy.start(await testSandbox().natsUrl());
      proxies.push(proxy);
      return { sut: await gateway({ ...env, NATS_URL: proxy.url }), proxy };
    },
  };
}
