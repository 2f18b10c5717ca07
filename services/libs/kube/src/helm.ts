import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Counter, Histogram, Registry } from 'prom-client';

export interface HelmOptions {
  /** The helm binary. */
  readonly binary: string;
  /** A kubeconfig for helm to use; without one it uses the pod's ServiceAccount. */
  readonly kubeconfig?: string;
  readonly timeoutMs?: number;
  /** Helm processes at once; more calls wait their turn (default: no bound). */
  readonly maxConcurrent?: number;
  /** Where each command's duration and failures are counted. */
  readonly metrics?: Registry;
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
  private readonly duration?: Histogram;
  private readonly failures?: Counter;

  constructor(private readonly options: HelmOptions) {
    const registers = options.metrics ? [options.metrics] : undefined;
    if (!registers) return;
    this.duration = new Histogram({
      name: 'urumi_helm_command_duration_seconds',
      help: 'How long each helm command ran, by command (install and upgrade: upgrade), failed or not',
      labelNames: ['command'],
      buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    });
    this.failures = new Counter({
      name: 'urumi_helm_command_failures_total',
      help: 'Helm commands that failed (not those aborted because leadership ended), by command',
      labelNames: ['command'],
      registers,
    });
  }

  /** Installs or upgrades a release with these values (passed on its standard input, never on the command line). */
  async upgradeInstall(
    release: string,
    namespace: string,
    chart: string,
    values: unknown,
    options: HelmCallOptions = {},
  ): Promise<void> {
    await this.run(
      ['upgrade', '--install', release, chart, '-n', namespace, '-f', '-', '--history-max', '3'],
      options,
      JSON.stringify(values),
    );
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

  private async run(args: string[], { signal }: HelmCallOptions, input?: string): Promise<string> {
    if (signal?.aborted) throw aborted(args);
    if (this.running < (this.options.maxConcurrent ?? Infinity)) this.running++;
    else await new Promise<void>((takeSlot) => this.waiting.push(takeSlot));
    try {
      // Aborted while it waited: the slot passes on, nothing runs.
      if (signal?.aborted) throw aborted(args);
      const command = { command: args[0] ?? '' };
      const stopTimer = this.duration?.startTimer(command);
      try {
        return await this.spawn(args, signal, input);
      } catch (error) {
        if (!signal?.aborted) this.failures?.inc(command);
        throw error;
      } finally {
        stopTimer?.();
      }
    } finally {
      // A waiting call takes this slot over; otherwise it is free again.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }

  private spawn(args: string[], signal: AbortSignal | undefined, input: string | undefined): Promise<string> {
    // Release records in ConfigMaps: with the default Secrets driver Helm would need to read Secrets.
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      HELM_DRIVER: 'configmap',
      HELM_CACHE_HOME: join(tmpdir(), 'urumi-helm-cache'),
    };
    if (this.options.kubeconfig) env['KUBECONFIG'] = this.options.kubeconfig;
    return new Promise((resolve, reject) => {
      const child = execFile(
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
      // A helm that exits before reading its input (a bad flag) closes the pipe: its own error is the one reported.
      child.stdin?.on('error', () => undefined);
      child.stdin?.end(input ?? '');
    });
  }
}

function aborted(args: readonly string[]): HelmError {
  return new HelmError(`helm ${args[0]} aborted`, '');
}
