import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Daemons } from './daemon';
import { freePort } from './ports';
import { get, waitUntil } from './probe';
import { scratchRoot } from './testing/test-sandbox';
import { binaryOf, ensureToolchain } from './toolchain';

/** Where one server of a NatsCluster listens and keeps its JetStream files. */
export interface NatsServerPorts {
  readonly index: number;
  readonly client: number;
  readonly cluster: number;
  readonly monitor: number;
  readonly storeDir: string;
}

export interface NatsClusterOptions {
  readonly size: number;
  /** nats.conf of one server; `all` lists every server, for the routes. */
  readonly config: (server: NatsServerPorts, all: readonly NatsServerPorts[]) => string;
  /** The environment of one server (nats.conf may refer to its variables as $NAME). */
  readonly env?: (server: NatsServerPorts) => Record<string, string>;
  /**
   * Where the servers keep their files, kept by `down` (default: a temporary folder that `down` deletes, inside the
   * test sandbox's state folder in a test run, so that sandbox's teardown stops servers a dead test left running).
   */
  readonly dir?: string;
}

/**
 * nats-servers on loopback for a test: a JetStream cluster (or one server) whose configuration the test
 * writes, e.g. the platform chart's nats.conf pointed at local ports. Servers can be stopped and
 * started again one by one; `down` stops them all and deletes their files (unless they live in `dir`).
 */
export class NatsCluster {
  private constructor(
    private readonly dir: string,
    private readonly daemons: Daemons,
    private readonly servers: readonly NatsServerPorts[],
    private readonly options: NatsClusterOptions,
    private readonly binary: string,
  ) {}

  static async start(options: NatsClusterOptions): Promise<NatsCluster> {
    const binary = binaryOf(await ensureToolchain(), 'nats-server');
    const dir = options.dir ?? (await mkdtemp(join(scratchRoot(), 'urumi-nats-')));
    await mkdir(dir, { recursive: true });
    const servers: NatsServerPorts[] = [];
    for (let index = 0; index < options.size; index++) {
      servers.push({
        index,
        client: await freePort(),
        cluster: await freePort(),
        monitor: await freePort(),
        storeDir: join(dir, `server-${index}`, 'jetstream'),
      });
    }
    const cluster = new NatsCluster(dir, new Daemons(dir), servers, options, binary);
    try {
      await Promise.all(servers.map((server) => cluster.startServer(server.index)));
    } catch (error) {
      await cluster.down();
      throw error;
    }
    return cluster;
  }

  /** Every server's client URL. */
  get urls(): string[] {
    return this.servers.map((server) => `nats://127.0.0.1:${server.client}`);
  }

  /** Every server's monitoring endpoint (/connz, /healthz, …). */
  get monitorUrls(): string[] {
    return this.servers.map((server) => `http://127.0.0.1:${server.monitor}`);
  }

  async startServer(index: number): Promise<void> {
    const server = this.server(index);
    const config = join(this.dir, `server-${index}.conf`);
    await mkdir(server.storeDir, { recursive: true });
    await writeFile(config, this.options.config(server, this.servers));
    const name = `nats-${index}`;
    // One left running in a kept `dir` by a process that died holds the JetStream files.
    await this.daemons.stop(name);
    await this.daemons.start({
      name,
      command: this.binary,
      args: ['--config', config],
      env: { ...process.env, ...this.options.env?.(server) },
    });
    // Plain /healthz: JetStream answers, which in a cluster means its peers have elected a leader.
    const healthy = async () =>
      (await get(`http://127.0.0.1:${server.monitor}/healthz`).catch(() => undefined))?.status === 200;
    await waitUntil(`nats server ${index} did not start`, healthy, 60_000, () =>
      this.daemons.pidOf(name) === undefined ? 'it exited' : undefined,
    ).catch(async (error: Error) => {
      throw new Error(`${error.message}\n${await this.daemons.logTail(name)}`);
    });
  }

  /** SIGTERM (SIGKILL after 10 s), as a node drain or a crash-looping pod would take it away. */
  async stopServer(index: number): Promise<void> {
    this.server(index);
    await this.daemons.stop(`nats-${index}`);
  }

  /** Server `index`'s process id, while it runs. */
  pidOf(index: number): number | undefined {
    this.server(index);
    return this.daemons.pidOf(`nats-${index}`);
  }

  /** What server `index` logged (refused permissions show here). */
  async log(index: number): Promise<string> {
    this.server(index);
    return readFile(this.daemons.logFile(`nats-${index}`), 'utf8').catch(() => '');
  }

  async down(): Promise<void> {
    await Promise.all(this.servers.map((server) => this.daemons.stop(`nats-${server.index}`)));
    if (!this.options.dir) await rm(this.dir, { recursive: true, force: true });
  }

  private server(index: number): NatsServerPorts {
    const server = this.servers[index];
    if (!server) throw new Error(`no nats server ${index} (the cluster has ${this.servers.length})`);
    return server;
  }
}
