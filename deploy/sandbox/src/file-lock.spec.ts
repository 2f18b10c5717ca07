import { ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileLock } from './file-lock';
import { eventually } from './testing/eventually';

describe(FileLock.name, () => {
  let dir: string;
  let file: string;
  let other: ChildProcess | undefined;
  const announced: string[] = [];
  const announce = (line: string) => announced.push(line);
  const WHAT = 'running the operators of this sandbox';

  /** Another process, holding the lock as a Platform in another Jest worker would. */
  const otherProcessHolds = async () => {
    other = spawn(process.execPath, ['-e', 'setTimeout(() => undefined, 60_000)'], { stdio: 'ignore' });
    await new Promise((resolve) => other!.once('spawn', resolve));
    await writeFile(file, String(other.pid));
    return other.pid!;
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'urumi-lock-'));
    file = join(dir, 'platform-operator.lock');
    announced.length = 0;
  });

  afterEach(async () => {
    other?.kill('SIGKILL');
    other = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  it('takes a free lock for this process and gives it back', async () => {
    const sut = await FileLock.acquire(file, WHAT, announce);
    expect(await readFile(file, 'utf8')).toBe(String(process.pid));

    await sut.release();
    await expect(readFile(file, 'utf8')).rejects.toThrow(/ENOENT/);
    expect(announced).toEqual([]);
  });

  it('waits while another live process holds it, saying whom for, and takes it once that one lets go', async () => {
    const owner = await otherProcessHolds();
    let acquired: FileLock | undefined;
    const waiting = FileLock.acquire(file, WHAT, announce, 20).then((lock) => (acquired = lock));

    await eventually(() =>
      expect(announced).toEqual([expect.stringContaining(`waiting for process ${owner}, which is ${WHAT}`)]),
    );
    expect(acquired).toBeUndefined();
    expect(await readFile(file, 'utf8')).toBe(String(owner));

    await rm(file);
    await waiting;
    expect(await readFile(file, 'utf8')).toBe(String(process.pid));
    expect(announced).toHaveLength(1);
    await acquired?.release();
  });

  it('takes over the lock of a process that died holding it', async () => {
    await otherProcessHolds();
    const exited = new Promise((resolve) => other!.once('exit', resolve));
    other!.kill('SIGKILL');
    await exited;

    const sut = await FileLock.acquire(file, WHAT, announce, 20);
    expect(await readFile(file, 'utf8')).toBe(String(process.pid));
    await sut.release();
  });

  it('runs work holding the lock, and lets go of it when the work fails', async () => {
    await expect(
      FileLock.around(file, WHAT, announce, async () => {
        expect(await readFile(file, 'utf8')).toBe(String(process.pid));
        throw new Error('compile error');
      }),
    ).rejects.toThrow('compile error');

    await expect(readFile(file, 'utf8')).rejects.toThrow(/ENOENT/);
  });

  it('refuses a second lock in the process that holds it, instead of waiting for itself', async () => {
    const sut = await FileLock.acquire(file, WHAT, announce);

    await expect(FileLock.acquire(file, WHAT, announce)).rejects.toThrow(
      `this process already holds ${file}: it is ${WHAT}`,
    );
    await sut.release();
  });
});
