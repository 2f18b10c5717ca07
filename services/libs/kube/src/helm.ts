import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface HelmOptions {
  /** The helm binary. */
  readonly binary: string;
  /** A kubeconfig for helm to use; without one it uses the pod's ServiceAccount. */
  readonly kubeconfig?: string;
  readonly timeoutMs?: number;
  /** Helm processes at once; more calls wait their turn (default: no bound). */
  readonly maxConcurrent?: number;
}

/** Per call: `signal` kills the helm child process (SIGKILL) when it aborts, and stops a call still waiting its turn. */
export interface HelmCallOptions {
  readonly signal?: AbortSignal;
}

export interface HelmRelease {
  readonly name: string;
  readonly namespace: string;
  readonly revision: number;
  readonly status: string;
  readonly chart: string;
  readonly updated: Date;
}

export class HelmError extends Error {
  constructor(
    message: string,
    readonly stderr: string,
  ) {
    super(message);
  }

  /** An interrupted install or upgrade leaves the release locked in a pending state. */
  get isLocked(): boolean {
    return /another operation \(install\/upgrade\/rollback\) is in progress/.test(this.stderr);
  }
}

/** The Helm CLI, run as a child process: what `helm upgrade --install` does is what people would run by hand. */
export class Helm {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly options: HelmOptions) {}

  /** Installs or upgrades a release with these values (passed in a file, never on the command line). */
  async upgradeInstall(
    release: string,
    namespace: string,
    chart: string,
    values: unknown,
    options: HelmCallOptions = {},
  ): Promise<void> {
    const dir = await mkdtemp(join(tmpdir(), 'urumi-helm-'));
    try {
      const file = join(dir, 'values.json');
      await writeFile(file, JSON.stringify(values), { mode: 0o600 });
      await this.run(
        ['upgrade', '--install', release, chart, '-n', namespace, '-f', file, '--history-max', '3'],
        options,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  async status(release: string, namespace: string, options: HelmCallOptions = {}): Promise<HelmRelease | undefined> {
    const out = await this.run(['list', '-n', namespace, '--all', '--filter', `^${release}$`, '-o', 'json'], options);
    const [found] = JSON.parse(out) as {
      name: string;
      namespace: string;
      revision: string;
      status: string;
      chart: string;
      updated: string;
    }[];
    // helm prints e.g. "2026-11-27 21:12:03.918 +0000 UTC"
    const updated = new Date(found?.updated.replace(/^(\S+) (\S+) ([+-]\d{4}).*$/, '$1T$2$3') ?? 0);
    return found && { ...found, revision: Number(found.revision), updated };
  }

  /** What the release's current revision installed, as the multi-document YAML Helm applied. */
  async manifest(release: string, namespace: string, options: HelmCallOptions = {}): Promise<string> {
    return this.run(['get', 'manifest', release, '-n', namespace], options);
  }

  async rollback(release: string, namespace: string, options: HelmCallOptions = {}): Promise<void> {
    await this.run(['rollback', release, '-n', namespace], options);
  }

  /** Uninstalls a release; one that isn't there counts as uninstalled. */
  async uninstall(release: string, namespace: string, options: HelmCallOptions = {}): Promise<void> {
    await this.run(['uninstall', release, '-n', namespace, '--ignore-not-found'], options);
  }

  private async run(args: string[], { signal }: HelmCallOptions): Promise<string> {
    if (signal?.aborted) throw aborted(args);
    if (this.running < (this.options.maxConcurrent ?? Infinity)) this.running++;
    else await new Promise<void>((takeSlot) => this.waiting.push(takeSlot));
    try {
      // Aborted while it waited: the slot passes on, nothing runs.
      if (signal?.aborted) throw aborted(args);
      return await this.spawn(args, signal);
    } finally {
      // A waiting call takes this slot over; otherwise it is free again.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }

  private spawn(args: string[], signal: AbortSignal | undefined): Promise<string> {
    // Release records in ConfigMaps: with the default Secrets driver Helm would need to read Secrets.
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      HELM_DRIVER: 'configmap',
      HELM_CACHE_HOME: join(tmpdir(), 'urumi-helm-cache'),
    };
    if (this.options.kubeconfig) env['KUBECONFIG'] = this.options.kubeconfig;
    return new Promise((resolve, reject) => {
      execFile(
        this.options.binary,
        args,
        // SIGKILL: an aborted helm must be gone at once, not finish its write (a release left pending is recovered).
        { env, timeout: this.options.timeoutMs ?? 120_000, maxBuffer: 16 * 1024 * 1024, signal, killSignal: 'SIGKILL' },
        (error, stdout, stderr) => {
          if (!error) return resolve(stdout);
          if (signal?.aborted) return reject(aborted(args));
          const detail = stderr.trim().split('\n').pop() ?? error.message;
          reject(new HelmError(`helm ${args[0]} failed: ${detail}`, stderr));
        },
      );
    });
  }
}

function aborted(args: readonly string[]): HelmError {
  return new HelmError(`helm ${args[0]} aborted`, '');
}
