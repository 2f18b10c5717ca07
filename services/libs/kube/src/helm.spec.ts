import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { metricValuesBy } from '@urumi/runtime';
import { Registry } from 'prom-client';
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

  it('gives an install its values on standard input, so no file of them outlives a killed provisioner', async () => {
    const received = join(dir, 'values');
    writeFileSync(binary, `#!/bin/sh\necho "$@" > ${log}\ncat > ${received}\n`);
    const sut = new Helm({ binary });

    await sut.upgradeInstall('store', 'store-a', '/charts/medusa', { admin: { email: 'a@example.com' } });

    expect(readFileSync(log, 'utf8').trim()).toBe(
      'upgrade --install store /charts/medusa -n store-a -f - --history-max 3',
    );
    expect(JSON.parse(readFileSync(received, 'utf8'))).toEqual({ admin: { email: 'a@example.com' } });
  });

  it('counts each command it ran and each that failed, but not one aborted because leadership ended', async () => {
    const metrics = new Registry();
    writeFileSync(
      binary,
      `#!/bin/sh\n[ "$1" = rollback ] && { echo boom >&2; exit 1; }\n[ "$1" = uninstall ] && exec sleep 30\nexit 0\n`,
    );
    const sut = new Helm({ binary, metrics });
    const term = new AbortController();

    await sut.manifest('store', 'ns');
    await expect(sut.rollback('store', 'ns')).rejects.toThrow('helm rollback failed: boom');
    const uninstall = sut.uninstall('store', 'ns', { signal: term.signal });
    await sleep(100);
    term.abort();
    await expect(uninstall).rejects.toThrow(/aborted/);

    expect(await metricValuesBy(metrics, 'urumi_helm_command_duration_seconds_count', 'command')).toEqual({
      get: 1,
      rollback: 1,
      uninstall: 1,
    });
    expect(await metricValuesBy(metrics, 'urumi_helm_command_failures_total', 'command')).toEqual({ rollback: 1 });
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
