import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Daemons } from '../daemon';
import { get, waitUntil } from '../probe';
import { binaryOf, Toolchain } from '../toolchain';

export interface RegistryOptions {
  /** Where its config, pid file and log live. */
  readonly stateDir: string;
  /** Where pushed blobs and manifests live; keep it across runs so pushed layers need no second push. */
  readonly storageDir: string;
  /** The loopback port it listens on. */
  readonly port: number;
  readonly toolchain: Toolchain;
}

const DAEMON = 'registry';

/** The distribution registry (plain HTTP, loopback only): what the real node pulls from and BuildKit pushes to. */
export class Registry {
  private readonly daemons: Daemons;

  constructor(private readonly options: RegistryOptions) {
    this.daemons = new Daemons(options.stateDir);
  }

  /** host:port, the prefix of every image reference it serves. */
  get address(): string {
    return `127.0.0.1:${this.options.port}`;
  }

  get url(): string {
    return `http://${this.address}`;
  }

  get logFile(): string {
    return this.daemons.logFile(DAEMON);
  }

  private get configFile(): string {
    return join(this.options.stateDir, 'registry', 'config.yml');
  }

  async start(): Promise<void> {
    if (this.daemons.pidOf(DAEMON) === undefined) {
      await mkdir(this.options.storageDir, { recursive: true });
      await mkdir(join(this.options.stateDir, 'registry'), { recursive: true });
      await writeFile(this.configFile, this.config());
      await this.daemons.start({
        name: DAEMON,
        command: binaryOf(this.options.toolchain, 'registry'),
        args: ['serve', this.configFile],
        // No tracing exporter: it would only retry a collector nobody runs.
        env: { ...process.env, OTEL_TRACES_EXPORTER: 'none' },
      });
    }
    await waitUntil(
      `the registry on ${this.address} did not become healthy`,
      () => this.isHealthy(),
      20_000,
      () => (this.daemons.pidOf(DAEMON) === undefined ? `it exited; see ${this.logFile}` : undefined),
    );
  }

  async stop(): Promise<void> {
    await this.daemons.stop(DAEMON);
  }

  /** The Docker Registry HTTP API v2 base endpoint answers 200 once storage is ready. */
  async isHealthy(): Promise<boolean> {
    return (await get(`${this.url}/v2/`)).status === 200;
  }

  private config(): string {
    return `version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: ${JSON.stringify(this.options.storageDir)}
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: ${this.address}
  headers:
    X-Content-Type-Options: [nosniff]
health:
  storagedriver:
    enabled: true
    interval: 10s
    threshold: 3
`;
  }
}
