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
  /** Where service output goes: each line prefixed with the service name (default: this process's stdout). */
  readonly output?: (line: string) => void;
}

interface ServiceProcess {
  readonly name: string;
  readonly child: ChildProcess;
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
  private readonly services: ServiceProcess[] = [];

  constructor(
    private readonly sandbox: Sandbox,
    private readonly options: PlatformOptions = {},
  ) {}

  async start(): Promise<PlatformInfo> {
    const natsUrl = await this.sandbox.natsUrl();
    const tokensFile = join(this.sandbox.stateDir, 'tokens.json');
    const users = await ensureTokens(tokensFile);
    const gatewayPort = this.options.gatewayPort ?? (await freePort());
    const quotaPort = await freePort();
    const common = { NATS_URL: natsUrl, KUBECONFIG: this.sandbox.kubeconfig };
    const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;

    await this.run(
      'quota',
      'services/quota/src/main.ts',
      { ...common, QUOTA_PORT: String(quotaPort) },
      `http://127.0.0.1:${quotaPort}/readyz`,
    );
    await this.run(
      'gateway',
      'services/gateway/src/main.ts',
      { ...common, GATEWAY_PORT: String(gatewayPort), AUTH_MODE: 'tokens', AUTH_TOKENS_FILE: tokensFile },
      `${gatewayUrl}/readyz`,
    );
    return { gatewayUrl, users };
  }

  async stop(): Promise<void> {
    await Promise.all(this.services.reverse().map((service) => stopChild(service.child)));
    this.services.length = 0;
  }

  private async run(name: string, entry: string, env: Record<string, string>, readyUrl: string): Promise<void> {
    const child = spawn(process.execPath, ['--require', '@swc-node/register', join(repoRoot, entry)], {
      cwd: repoRoot,
      env: { ...process.env, SWC_NODE_PROJECT: join(repoRoot, 'tsconfig.base.json'), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.services.push({ name, child });
    const write = this.options.output ?? ((line: string) => process.stdout.write(`${line}\n`));
    for (const stream of [child.stdout, child.stderr]) {
      if (stream) createInterface({ input: stream }).on('line', (line) => write(`[${name}] ${line}`));
    }
    const started = Date.now();
    await waitUntil(
      `${name} did not become ready`,
      async () => (await get(readyUrl)).status === 200,
      60_000,
      () => (child.exitCode !== null ? `it exited with code ${child.exitCode}; its output is above` : undefined),
    );
    log.step(`${name} ready (${Math.round((Date.now() - started) / 100) / 10}s)`);
  }
}

function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
