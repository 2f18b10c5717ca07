import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Daemons, stopDaemonsBelow } from './daemon';
import { eventually } from './testing/eventually';

function isRunning(pid: number): boolean {
  return existsSync(`/proc/${pid}`) && !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
}

describe(Daemons.name, () => {
  let dir: string;
  let sut: Daemons;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'urumi-daemons-'));
    sut = new Daemons(dir);
  });

  afterEach(async () => {
    await sut.stop('worker', 1_000);
    await rm(dir, { recursive: true, force: true });
  });

  it('finds a started daemon by its pid file and logs its output', async () => {
    const pid = await sut.start({ name: 'worker', command: '/bin/sh', args: ['-c', 'echo hello; sleep 60'] });

    expect(sut.pidOf('worker')).toBe(pid);
    await eventually(() => expect(readFileSync(sut.logFile('worker'), 'utf8')).toContain('hello'));
  });

  it('finds a daemon all the while it execs the programs it becomes, though mid-exec its command line is empty', async () => {
    // The daemon execs itself a thousand times over, then becomes sleep.
    const script = join(dir, 'hops.sh');
    writeFileSync(script, 'n=$1\nif [ "$n" -gt 0 ]; then exec /bin/sh "$0" $((n - 1)); fi\nexec /bin/sleep 60\n');
    const pid = await sut.start({ name: 'worker', command: '/bin/sh', args: [script, '1000'], execs: ['/bin/sleep'] });
    const program = () => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0];
    let lost = 0;
    for (let polls = 0; polls < 200_000 && program() !== '/bin/sleep'; polls++) {
      if (sut.pidOf('worker') === undefined) lost++;
    }

    expect(program()).toBe('/bin/sleep');
    expect(lost).toBe(0);
  });

  it('stops the daemon and everything it forked', async () => {
    const childPidFile = join(dir, 'child.pid');
    const pid = await sut.start({
      name: 'worker',
      command: '/bin/sh',
      args: ['-c', `sleep 60 & echo $! > ${childPidFile}; wait`],
    });
    const childPid = await eventually(() => {
      const written = Number(existsSync(childPidFile) && readFileSync(childPidFile, 'utf8'));
      expect(written).toBeGreaterThan(0);
      return written;
    });
    expect(isRunning(childPid)).toBe(true);

    expect(await sut.stop('worker')).toBe(true);

    expect(isRunning(pid)).toBe(false);
    expect(isRunning(childPid)).toBe(false);
    expect(sut.pidOf('worker')).toBeUndefined();
  });

  it('does not mistake a reused pid for the daemon, nor stop that process', async () => {
    await sut.start({ name: 'worker', command: '/bin/sleep', args: ['60'] });
    await sut.stop('worker');
    // The pid file now names a live process that is not a sleep: this test's own.
    writeFileSync(join(dir, 'run', 'worker.pid'), JSON.stringify({ pid: process.pid, command: '/bin/sleep' }));

    expect(sut.pidOf('worker')).toBeUndefined();
    expect(await sut.stop('worker')).toBe(false);
    expect(isRunning(process.pid)).toBe(true);
  });

  it('stops the daemons of folders nested in a state folder, and leaves that folder’s own alone', async () => {
    const nested = new Daemons(join(dir, 'test-nats-x'));
    const orphan = await nested.start({ name: 'nats-0', command: '/bin/sleep', args: ['60'] });
    const own = await sut.start({ name: 'worker', command: '/bin/sleep', args: ['60'] });

    expect(await stopDaemonsBelow(dir)).toEqual([join(dir, 'test-nats-x', 'nats-0')]);

    expect(isRunning(orphan)).toBe(false);
    expect(isRunning(own)).toBe(true);
  });
});
