import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const say = (message: string): void => {
  process.stdout.write(`[store-medusa] ${message}\n`);
};

export const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`${what} not ready after ${seconds(timeoutMs)}`);
}

const portOpen = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = new Socket();
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.connect(port, '127.0.0.1');
  });

/** A process this test started, its output kept for the failure message, stopped by its own process group. */
export class Started {
  private output = '';
  private exited: Promise<number | null>;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString()).slice(-20_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  static spawn(name: string, command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv }) {
    return new Started(name, spawn(command, args, { ...options, detached: true, stdio: ['ignore', 'pipe', 'pipe'] }));
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  tail(): string {
    return `--- ${this.name} output ---\n${this.output.slice(-4000)}`;
  }

  /** Resident memory of the process and its children, in MiB (Linux /proc). */
  rssMiB(): number {
    const pids = new Set([this.child.pid!]);
    const parents = new Map<number, number>();
    for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      } catch {
        // the process ended while we looked
      }
    }
    for (let grew = true; grew;) {
      grew = false;
      for (const [pid, parent] of parents) {
        if (pids.has(parent) && !pids.has(pid)) {
          pids.add(pid);
          grew = true;
        }
      }
    }
    let kib = 0;
    for (const pid of pids) {
      const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      kib += Number(match?.[1] ?? 0);
    }
    return kib / 1024;
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 15_000): Promise<void> {
    if (!this.running) return;
    const kill = (s: NodeJS.Signals) => {
      try {
        process.kill(-this.child.pid!, s);
      } catch {
        // already gone
      }
    };
    kill(signal);
    const timer = setTimeout(() => kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Runs a command to completion; on failure the error carries its output. */
export async function exec(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<string> {
  try {
    const { stdout, stderr } = await run(command, args, {
      cwd: options.cwd,
      env: options.env,
      timeout: options.timeoutMs ?? 600_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout + stderr;
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${command} ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
}

const postgresBin = (): string => {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))) : [];
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  if (!newest) throw new Error("PostgreSQL is not installed: run deploy/local/bootstrap.sh (Debian's postgresql)");
  return join(root, newest, 'bin');
};

export interface User {
  readonly uid: number;
  readonly gid: number;
}

/**
 * The unprivileged user the test runs PostgreSQL (initdb refuses root) and Medusa as when it runs as root, so Medusa
 * meets a build it cannot write to, as in the image. Undefined when the test already runs unprivileged.
 */
export async function testUser(): Promise<User | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const name = 'urumi-test';
  const id = async () => ({
    uid: Number((await exec('id', ['-u', name])).trim()),
    gid: Number((await exec('id', ['-g', name])).trim()),
  });
  try {
    return await id();
  } catch {
    await exec('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', name]);
    return id();
  }
}

/** The command line that runs `command` as `user` (setpriv execs it: the pid stays the command's own). */
export function asUser(user: User | undefined, command: string, args: string[]): [string, string[]] {
  return user
    ? ['setpriv', [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', '--', command, ...args]]
    : [command, args];
}

/** A private temp dir, owned by `user` when there is one. */
export function tempDir(prefix: string, user: User | undefined): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (user) chownSync(dir, user.uid, user.gid);
  return dir;
}

/** A throwaway PostgreSQL cluster in a private temp dir, listening only on a free loopback port. */
export class Postgres {
  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly bin: string,
    private readonly server: Started,
  ) {}

  static async start(user: User | undefined): Promise<Postgres> {
    const bin = postgresBin();
    const dir = tempDir('urumi-medusa-pg-', user);
    const data = join(dir, 'data');
    mkdirSync(data, { mode: 0o700 });
    if (user) chownSync(data, user.uid, user.gid);
    await exec(
      ...asUser(user, join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C']),
      {
        cwd: dir,
      },
    );
    const port = await freePort();
    // Durability is not needed for a throwaway cluster; turning it off makes the migrations faster.
    const settings = ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'];
    const listen = ['-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-k', dir];
    const server = Started.spawn(
      'postgres',
      ...asUser(user, join(bin, 'postgres'), ['-D', data, ...listen, ...settings]),
      {
        cwd: dir,
      },
    );
    const pg = new Postgres(port, dir, bin, server);
    try {
      await waitFor('PostgreSQL', async () => server.running && (await pg.sql('select 1')).trim() === '1', 60_000);
    } catch (error) {
      await pg.stop();
      throw new Error(`${(error as Error).message}\n${server.tail()}`);
    }
    return pg;
  }

  url(database: string): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  async sql(statement: string, database = 'postgres'): Promise<string> {
    return exec(
      join(this.bin, 'psql'),
      [
        '-h',
        '127.0.0.1',
        '-p',
        String(this.port),
        '-U',
        'postgres',
        '-d',
        database,
        '-XAtq',
        '-v',
        'ON_ERROR_STOP=1',
        '-c',
        statement,
      ],
      { timeoutMs: 60_000 },
    );
  }

  tail(): string {
    return this.server.tail();
  }

  async stop(): Promise<void> {
    // SIGINT is PostgreSQL's fast shutdown.
    await this.server.stop('SIGINT');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A throwaway Redis on a free loopback port, without persistence. */
export class Redis {
  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly server: Started,
  ) {}

  static async start(): Promise<Redis> {
    const binary = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((path) => existsSync(path));
    if (!binary)
      throw new Error("redis-server is not installed: run deploy/local/bootstrap.sh (Debian's redis-server)");
    const dir = mkdtempSync(join(tmpdir(), 'urumi-medusa-redis-'));
    const port = await freePort();
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
    const server = Started.spawn('redis', binary, args, { cwd: dir });
    const redis = new Redis(port, dir, server);
    try {
      await waitFor('Redis', async () => server.running && (await portOpen(port)), 30_000);
    } catch (error) {
      await redis.stop();
      throw new Error(`${(error as Error).message}\n${server.tail()}`);
    }
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    await this.server.stop('SIGTERM');
    rmSync(this.dir, { recursive: true, force: true });
  }
}
