import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { log } from './log';
import { repoRoot } from './paths';
import { get, waitUntil } from './probe';
import { freePort } from './ports';
import { Sandbox } from './sandbox';
import { ensureTokens, SeededUser } from './tokens';

export interface PlatformOptions {
  readonly gatewayPort?: number;
  /** Users and tokens (default: the sandbox's tokens.json, seeded with an admin and two tenants). */
  readonly users?: readonly SeededUser[];
  /** Extra environment for every service (limits, log level, …). */
  readonly env?: Readonly<Record<string, string>>;
  /** Where service output goes: each line prefixed with the service name (default: this process's stdout). */
  readonly output?: (line: string) => void;
}

export type ServiceName = 'gateway' | 'quota';

interface ServiceSpec {
  readonly entry: string;
  readonly env: Record<string, string>;
  readonly readyUrl: string;
}

/** What a running platform offers: where to reach it and who may sign in. */
export interface PlatformInfo {
  readonly gatewayUrl: string;
  readonly users: readonly SeededUser[];
}

/**
 * The platform's services as processes on this machine, against a running sandbox: each one is the
 * service's own main.ts (TypeScript compiled on the fly by @swc-node/register, as in development).
 */
export class Platform {
  private readonly specs = new Map<ServiceName, ServiceSpec>();
  private readonly children = new Map<ServiceName, ChildProcess>();

  constructor(
    private readonly sandbox: Sandbox,
    private readonly options: PlatformOptions = {},
  ) {}

  async start(): Promise<PlatformInfo> {
    const tokensFile = join(this.sandbox.stateDir, this.options.users ? 'platform-tokens.json' : 'tokens.json');
    const users = await ensureTokens(tokensFile, this.options.users);
    const gatewayPort = this.options.gatewayPort ?? (await freePort());
    const quotaPort = await freePort();
    const common = { NATS_URL: await this.sandbox.natsUrl(), KUBECONFIG: this.sandbox.kubeconfig, ...this.options.env };
    const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
    // The gateway first: it creates the streams the other services consume.
    this.specs.set('gateway', {
      entry: 'services/gateway/src/main.ts',
      env: { ...common, GATEWAY_PORT: String(gatewayPort), AUTH_MODE: 'tokens', AUTH_TOKENS_FILE: tokensFile },
      readyUrl: `${gatewayUrl}/readyz`,
    });
    this.specs.set('quota', {
      entry: 'services/quota/src/main.ts',
      env: { ...common, QUOTA_PORT: String(quotaPort) },
      readyUrl: `http://127.0.0.1:${quotaPort}/readyz`,
    });
    for (const name of this.specs.keys()) await this.launch(name);
    return { gatewayUrl, users };
  }

  /** SIGKILL, as a crash would: no drain, no acks for what was in flight. */
  async kill(name: ServiceName): Promise<void> {
    const child = this.children.get(name);
    this.children.delete(name);
    if (child) await stopChild(child, 'SIGKILL');
  }

  async launch(name: ServiceName): Promise<void> {
    const spec = this.specs.get(name);
    if (!spec) throw new Error(`${name} is not part of this platform; start() it first`);
    const child = spawn(process.execPath, ['--require', '@swc-node/register', join(repoRoot, spec.entry)], {
      cwd: repoRoot,
      env: { ...process.env, SWC_NODE_PROJECT: join(repoRoot, 'tsconfig.base.json'), ...spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.children.set(name, child);
    const write = this.options.output ?? ((line: string) => process.stdout.write(`${line}\n`));
    const recent: string[] = [];
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream }).on('line', (line) => {
        recent.push(line);
        if (recent.length > 20) recent.shift();
        write(`[${name}] ${line}`);
      });
    }
    const started = Date.now();
    await waitUntil(
      `${name} did not become ready`,
      async () => (await get(spec.readyUrl)).status === 200,
      60_000,
      () =>
        child.exitCode !== null
          ? `it exited with code ${child.exitCode}; its last output:\n${recent.join('\n')}`
          : undefined,
    );
    log.step(`${name} ready (${Math.round((Date.now() - started) / 100) / 10}s)`);
  }

  /** The process id of a running service (for resident-memory readings). */
  pidOf(name: ServiceName): number | undefined {
    return this.children.get(name)?.pid;
  }

  async stop(): Promise<void> {
    const running = [...this.children.values()].reverse();
    this.children.clear();
    await Promise.all(running.map((child) => stopChild(child, 'SIGTERM')));
  }
}

function stopChild(child: ChildProcess, signal: NodeJS.Signals, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(signal);
  });
}
