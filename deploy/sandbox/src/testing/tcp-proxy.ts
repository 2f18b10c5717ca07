import { createServer, Server, Socket } from 'node:net';

/**
 * A TCP proxy on loopback between clients and one server (nats-server, in the tests), that can play a bad network:
 * `hold` keeps back what the server sends (it goes on storing what it is sent, but its answers arrive late), and `cut`
 * drops every connection and refuses new ones (a partition) until `restore`.
 */
export class TcpProxy {
  private holding = false;
  private cutOff = false;
  private readonly heldChunks: { socket: Socket; chunk: Buffer }[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly watchers: { pattern: RegExp; react: () => void }[] = [];
  private readonly server: Server;
  private port = 0;

  private constructor(target: URL) {
    this.server = createServer((client) => this.bridge(client, target));
  }

  /** A proxy to `targetUrl` (e.g. nats://127.0.0.1:4222), on a free loopback port. */
  static async start(targetUrl: string): Promise<TcpProxy> {
    const proxy = new TcpProxy(new URL(targetUrl));
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    const address = proxy.server.address();
    if (!address || typeof address === 'string') throw new Error('the proxy has no port');
    proxy.port = address.port;
    return proxy;
  }

  /** Where clients connect instead of the server. */
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

  /** Drops every connection, and each new one at once, until `restore`: what was held is lost with them. */
  cut(): void {
    this.cutOff = true;
    this.heldChunks.splice(0);
    for (const socket of this.sockets) socket.destroy();
  }

  /** Lets connections through again after a `cut`. */
  restore(): void {
    this.cutOff = false;
  }

  /** Calls `react` each time a client sends bytes matching `pattern` (just after they are forwarded). */
  whenClientSends(pattern: RegExp, react: () => void): void {
    this.watchers.push({ pattern, react });
  }

  /**
   * The first time a client sends bytes matching `pattern`, holds the server's answers for `ms` (a server that stalls
   * in the middle of a conversation). Resolves once they are released.
   */
  holdOnceClientSends(pattern: RegExp, ms: number): Promise<void> {
    return new Promise((released) => {
      let triggered = false;
      this.whenClientSends(pattern, () => {
        if (triggered) return;
        triggered = true;
        this.hold();
        setTimeout(() => {
          this.release();
          released();
        }, ms);
      });
    });
  }

  async close(): Promise<void> {
    this.release();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private bridge(client: Socket, target: URL): void {
    if (this.cutOff) {
      client.destroy();
      return;
    }
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
