import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DaemonSpec } from '../daemon';
import { CGROUP_CONTROLLERS } from './preconditions';

const ROOT = '/sys/fs/cgroup';

/**
 * The cgroup this process is in, in the hierarchy that places it deepest (here: memory, which belongs to the
 * machine). Everything the node starts lives below it, in every hierarchy, and nothing above it is touched.
 */
export function ownCgroup(): string {
  const paths = readFileSync('/proc/self/cgroup', 'utf8')
    .trim()
    .split('\n')
    .map((line) => line.split(':'))
    .filter(([, controllers]) => controllers && CGROUP_CONTROLLERS.some((c) => controllers.split(',').includes(c)))
    .map(([, , path]) => path ?? '/');
  return paths.reduce((deepest, path) => (path.length > deepest.length ? path : deepest), '/');
}

/**
 * Creates `path` in every controller's hierarchy and returns the folders it made, deepest last (what `removeCgroups`
 * takes back); cpuset's cpus and mems are copied down, as a new cpuset starts empty.
 */
export async function createCgroup(path: string): Promise<string[]> {
  const created: string[] = [];
  // runc also makes each container's cgroup in the unified (v2) tree of this hybrid machine: its parents too.
  const unified = existsSync(join(ROOT, 'unified', 'cgroup.procs')) ? ['unified'] : [];
  for (const controller of [...CGROUP_CONTROLLERS, ...unified]) {
    const segments = path.split('/').filter(Boolean);
    for (let depth = 1; depth <= segments.length; depth++) {
      const dir = join(ROOT, controller, ...segments.slice(0, depth));
      if (existsSync(dir)) continue;
      await mkdir(dir);
      created.push(dir);
      if (controller === 'cpuset') {
        for (const file of ['cpuset.cpus', 'cpuset.mems'])
          await writeFile(join(dir, file), (await readFile(join(dirname(dir), file), 'utf8')).trim());
      }
    }
  }
  return created;
}

/** The files a process writes its pid to, to join `path` in every hierarchy. */
export function cgroupProcsFiles(path: string): string[] {
  return CGROUP_CONTROLLERS.map((controller) => join(ROOT, controller, path, 'cgroup.procs'));
}

/**
 * A daemon that first joins `cgroup` in every hierarchy, then becomes `command` (which may exec `execs` in turn:
 * unshare, nsenter): everything it starts lives below that cgroup.
 */
export function daemonInCgroup(
  name: string,
  cgroup: string,
  command: string,
  args: readonly string[],
  execs: readonly string[] = [],
): DaemonSpec {
  const procsFiles = cgroupProcsFiles(cgroup).map((f) => `"${f}"`);
  return {
    name,
    command: '/bin/sh',
    args: ['-c', `for f in ${procsFiles.join(' ')}; do echo $$ > "$f"; done; exec "$@"`, 'sh', command, ...args],
    execs: [command, ...execs],
  };
}

async function subtree(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const children = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory());
  const below = await Promise.all(children.map((child) => subtree(join(dir, child.name))));
  return [...below.flat(), dir];
}

/** Pids of every process in `path` and below (read from the memory hierarchy, which holds them all). */
export async function processesIn(path: string): Promise<number[]> {
  const pids: number[] = [];
  for (const dir of await subtree(join(ROOT, 'memory', path))) {
    const text = await readFile(join(dir, 'cgroup.procs'), 'utf8').catch(() => '');
    pids.push(...text.split('\n').filter(Boolean).map(Number));
  }
  return pids;
}

/**
 * Kills every process in `path` and below, removes it and the cgroups below it (the kubelet's and runc's) in every
 * hierarchy, then the parents `createCgroup` made, deepest first; one another sandbox still uses is not empty and stays.
 */
export async function removeCgroups(path: string, created: readonly string[]): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const pids = await processesIn(path);
    if (pids.length === 0) break;
    if (attempt > 100) throw new Error(`processes ${pids.join(', ')} in cgroup ${path} would not die`);
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    await sleep(100);
  }
  // Every mounted hierarchy, the unified one too: runc and the kubelet also make the node's cgroups there.
  for (const hierarchy of await readdir(ROOT)) {
    for (const dir of await subtree(join(ROOT, hierarchy, path))) await rmdirWhenEmpty(dir);
  }
  for (const dir of [...created].sort((a, b) => b.length - a.length)) await rmdirWhenEmpty(dir);
}

async function rmdirWhenEmpty(dir: string): Promise<boolean> {
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      await rmdir(dir);
      return true;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return true;
      // A cgroup whose last process just died reads busy for a moment.
      if (code !== 'EBUSY') throw error;
      await sleep(100);
    }
  }
  return false;
}
