import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** A long-running process the sandbox starts in the background and finds again by its pid file. */
export interface DaemonSpec {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  /** The programs `command` becomes in turn when it execs others (sh → nsenter → the daemon): its pid is theirs too. */
  readonly execs?: readonly string[];
}

interface PidRecord {
  readonly pid: number;
  readonly command: string;
  readonly execs?: readonly string[];
}

/** What process `pid` runs (argv[0]; empty while it execs), or undefined once it has exited (a zombie included). */
function programOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (/^\d+ \(.*\) [ZX]/s.test(stat)) return undefined;
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] ?? '';
  } catch {
    return undefined;
  }
}

export class Daemons {
  constructor(private readonly stateDir: string) {}

  logFile(name: string): string {
    return join(this.stateDir, 'logs', `${name}.log`);
  }

  private pidFile(name: string): string {
    return join(this.stateDir, 'run', `${name}.pid`);
  }

  /** The pid of a running daemon, or undefined; a pid reused by another program does not count. */
  pidOf(name: string): number | undefined {
    const file = this.pidFile(name);
    if (!existsSync(file)) return undefined;
    const record = JSON.parse(readFileSync(file, 'utf8')) as PidRecord;
    const program = programOf(record.pid);
    // Mid-exec (sh → nsenter → the daemon) a live process shows an empty command line for a moment.
    return program === '' || program === record.command || record.execs?.includes(program ?? '')
      ? record.pid
      : undefined;
  }

  async start(spec: DaemonSpec): Promise<number> {
    await mkdir(join(this.stateDir, 'logs'), { recursive: true });
    await mkdir(join(this.stateDir, 'run'), { recursive: true });
    const log = openSync(this.logFile(spec.name), 'a');
    try {
      // Its own process group, so stopping it also stops anything it forked.
      const child = spawn(spec.command, spec.args, {
        detached: true,
        stdio: ['ignore', log, log],
        env: spec.env ?? process.env,
      });
      await new Promise<void>((resolve, reject) => child.once('spawn', resolve).once('error', reject));
      const pid = child.pid;
      if (pid === undefined) throw new Error(`${spec.name} did not start`);
      child.unref();
      await writeFile(
        this.pidFile(spec.name),
        JSON.stringify({ pid, command: spec.command, execs: spec.execs } satisfies PidRecord),
      );
      return pid;
    } finally {
      closeSync(log);
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; a daemon that is not running is already stopped. */
  async stop(name: string, graceMs = 10_000): Promise<boolean> {
    const pid = this.pidOf(name);
    await rm(this.pidFile(name), { force: true });
    if (pid === undefined) return false;
    const signalGroup = (signal: NodeJS.Signals) => {
      try {
        process.kill(-pid, signal);
      } catch {
        // The group is already gone.
      }
    };
    signalGroup('SIGTERM');
    const deadline = Date.now() + graceMs;
    while (isAlive(pid) && Date.now() < deadline) await sleep(100);
    if (isAlive(pid)) signalGroup('SIGKILL');
    while (isAlive(pid)) await sleep(50);
    return true;
  }

  async logTail(name: string, lines = 20): Promise<string> {
    try {
      return (await readFile(this.logFile(name), 'utf8')).trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    // A zombie still answers kill(0); /proc tells a finished process from a running one.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

/**
 * Stops every daemon whose pid file lies in a folder below `root` (not `root`'s own): what ran from a state folder
 * nested in it, such as a test's NATS servers, even when the process that started them died without stopping them.
 */
export async function stopDaemonsBelow(root: string): Promise<string[]> {
  const stopped: string[] = [];
  const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    const dir = entry.parentPath;
    if (!entry.isFile() || !entry.name.endsWith('.pid') || dir === join(root, 'run')) continue;
    if (!dir.endsWith('/run')) continue;
    const name = entry.name.slice(0, -'.pid'.length);
    if (await new Daemons(dirname(dir)).stop(name)) stopped.push(join(dirname(dir), name));
  }
  return stopped;
}
