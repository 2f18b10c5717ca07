import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Helm, HelmError } from './helm';

describe(Helm.name, () => {
  let dir: string;
  let log: string;
  let binary: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'urumi-helm-spec-'));
    log = join(dir, 'calls.log');
    binary = join(dir, 'helm');
    // Stands in for helm: a real child process that says when it starts and ends.
    writeFileSync(binary, `#!/bin/sh\necho "start $2" >> ${log}\nsleep 0.2\necho "end $2" >> ${log}\n`);
    chmodSync(binary, 0o755);
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** The most processes the log shows running at once. */
  function peakConcurrency(): number {
    let running = 0;
    let peak = 0;
    for (const line of readFileSync(log, 'utf8').trim().split('\n')) {
      running += line.startsWith('start') ? 1 : -1;
      peak = Math.max(peak, running);
    }
    return peak;
  }

  it('runs at most maxConcurrent helm processes, and every call still runs', async () => {
    const sut = new Helm({ binary, maxConcurrent: 2 });

    await Promise.all(['a', 'b', 'c', 'd', 'e'].map((release) => sut.uninstall(release, 'ns')));

    expect(peakConcurrency()).toBe(2);
    expect(readFileSync(log, 'utf8').match(/^end /gm)).toHaveLength(5);
  });

  it('frees the slot of a call that failed', async () => {
    writeFileSync(binary, `#!/bin/sh\necho "start $2" >> ${log}\necho "end $2" >> ${log}\necho boom >&2\nexit 1\n`);
    const sut = new Helm({ binary, maxConcurrent: 1 });

    const results = await Promise.allSettled(['a', 'b', 'c'].map((release) => sut.uninstall(release, 'ns')));

    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(peakConcurrency()).toBe(1);
  });

  it('kills a running helm when its signal aborts, and runs no call that waited its turn or came after', async () => {
    const pidFile = join(dir, 'pid');
    writeFileSync(binary, `#!/bin/sh\necho "start $2" >> ${log}\necho $$ > ${pidFile}\nexec sleep 30\n`);
    const sut = new Helm({ binary, maxConcurrent: 1 });
    const term = new AbortController();

    const running = sut.uninstall('a', 'ns', { signal: term.signal });
    const waiting = sut.upgradeInstall('b', 'ns', 'chart', {}, { signal: term.signal });
    while (!existsSync(pidFile) || !readFileSync(pidFile, 'utf8').trim()) await sleep(10);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    term.abort();

    await expect(running).rejects.toThrow(new HelmError('helm uninstall aborted', ''));
    await expect(waiting).rejects.toThrow(/helm upgrade aborted/);
    await expect(sut.uninstall('c', 'ns', { signal: term.signal })).rejects.toThrow(/aborted/);
    // SIGKILL is sent as the signal aborts; the process is gone as soon as the kernel has reaped it.
    for (let i = 0; i < 100 && isAlive(pid); i++) await sleep(10);
    expect(isAlive(pid)).toBe(false);
    expect(readFileSync(log, 'utf8').trim().split('\n')).toEqual(['start a']);
  });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}
