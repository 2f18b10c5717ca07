import { readFileSync } from 'node:fs';
import { link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A lock file holding the pid of the process that does some work only one process on this machine may do at a
 * time (build a component, run a sandbox's operators). Another process waits for it; a dead owner's lock is taken over.
 */
export class FileLock {
  private constructor(private readonly file: string) {}

  /**
   * Takes the lock, waiting while another live process holds it and telling `announce` once whom it waits for and
   * why (`what` that process is doing). This process holding it already is an error, not a wait for itself.
   */
  static async acquire(
    file: string,
    what: string,
    announce: (line: string) => void,
    retryMs = 1_000,
  ): Promise<FileLock> {
    let waitingFor: number | undefined;
    await mkdir(dirname(file), { recursive: true });
    for (;;) {
      // Written aside, then linked into place: the lock file never exists without its owner's pid.
      const mine = `${file}.${process.pid}`;
      await writeFile(mine, String(process.pid));
      try {
        await link(mine, file);
        return new FileLock(file);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      } finally {
        await rm(mine, { force: true });
      }
      const owner = await ownerOf(file);
      if (owner === process.pid) throw new Error(`this process already holds ${file}: it is ${what}`);
      if (owner === undefined || !processRuns(owner)) {
        await rm(file, { force: true });
        continue;
      }
      if (waitingFor !== owner) {
        announce(`waiting for process ${owner}, which is ${what} (${file})`);
        waitingFor = owner;
      }
      await sleep(retryMs);
    }
  }

  /** Runs `work` holding the lock. */
  static async around<T>(
    file: string,
    what: string,
    announce: (line: string) => void,
    work: () => Promise<T>,
  ): Promise<T> {
    const lock = await FileLock.acquire(file, what, announce);
    try {
      return await work();
    } finally {
      await lock.release();
    }
  }

  async release(): Promise<void> {
    if ((await ownerOf(this.file)) === process.pid) await rm(this.file, { force: true });
  }
}

async function ownerOf(file: string): Promise<number | undefined> {
  const pid = Number(await readFile(file, 'utf8').catch(() => ''));
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

function processRuns(pid: number): boolean {
  try {
    // A zombie still answers kill(0); /proc tells a finished process from a running one.
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
