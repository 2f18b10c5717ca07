import { testSandbox } from '@urumi/sandbox';
import { connect, NatsConnection } from 'nats';
import { createServer, Server, Socket } from 'node:net';
import { Harness, startGateway } from './gateway-harness';

/**
 * A TCP proxy on loopback in front of nats-server that can hold back what the server sends to its
 * clients: the server goes on storing what it is sent, but its answers (acks, deliveries) arrive late.
 */
export class StallingProxy {
  private holding = false;
  private readonly heldChunks: { socket: Socket; chunk: Buffer }[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly watchers: { pattern: RegExp; react: () => void }[] = [];

  private readonly server: Server;
  private port = 0;

  private constructor(target: URL) {
    this.server = createServer((client) => this.bridge(client, target));
  }

  static async start(natsUrl: string): Promise<StallingProxy> {
    const proxy = new StallingProxy(new URL(natsUrl));
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    const address = proxy.server.address();
    if (!address || typeof address === 'string') throw new Error('the proxy has no port');
    proxy.port = address.port;
    return proxy;
  }

  /** Where clients connect instead of nats-server. */
  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** From now on, the server's answers wait until `release`. */
  hold(): void {
    this.holding = true;
  }

  /** Delivers what was held, in order, and stops holding. */
  release(): void {
    this.holding = false;
    for (const { socket, chunk } of this.heldChunks.splice(0)) if (!socket.destroyed) socket.write(chunk);
  }

  /** What the server has sent since `hold`, as text. */
  held(): string {
    return Buffer.concat(this.heldChunks.map(({ chunk }) => chunk)).toString('latin1');
  }

  /** Calls `react` each time a client sends bytes matching `pattern` (just after they are forwarded). */
  whenClientSends(pattern: RegExp, react: () => void): void {
    this.watchers.push({ pattern, react });
  }

  async close(): Promise<void> {
    this.release();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private bridge(client: Socket, target: URL): void {
    const upstream = new Socket();
    upstream.connect(Number(target.port), target.hostname);
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on('error', () => socket.destroy());
      socket.on('close', () => {
        this.sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('data', (chunk) => {
      upstream.write(chunk);
      const text = chunk.toString('latin1');
      for (const { pattern, react } of this.watchers) if (pattern.test(text)) react();
    });
    upstream.on('data', (chunk) => {
      if (this.holding) this.heldChunks.push({ socket: client, chunk });
      else client.write(chunk);
    });
  }
}

/**
 * For a describe block: gateways on the test sandbox's NATS, some behind a StallingProxy, each closed (its
 * proxy released first) after every test; and one plain NATS connection for the test's own reads and writes.
 */
export function gatewaysPerTest(): {
  readonly nats: () => NatsConnection;
  gateway(env?: Record<string, string>): Promise<Harness>;
  behindProxy(env?: Record<string, string>): Promise<{ sut: Harness; proxy: StallingProxy }>;
} {
  let nc: NatsConnection | undefined;
  const gateways: Harness[] = [];
  const proxies: StallingProxy[] = [];

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
      const proxy = await StallingProxy.start(await testSandbox().natsUrl());
      proxies.push(proxy);
      return { sut: await gateway({ ...env, NATS_URL: proxy.url }), proxy };
    },
  };
}
