import { setTimeout as sleep } from 'node:timers/promises';
import { WorkQueue } from './work-queue';

describe(WorkQueue.name, () => {
  let sut: WorkQueue | undefined;
  afterEach(async () => sut?.shutdown());

  it('handles a key added many times while it waits once', async () => {
    const handled: string[] = [];
    sut = new WorkQueue(async (key) => void handled.push(key), { workers: 1 });
    for (let i = 0; i < 5; i++) sut.add('a');
    sut.add('b');
    sut.start();
    await sleep(20);
    expect(handled).toEqual(['a', 'b']);
  });

  it('never handles one key in two workers at once, and handles it again if it changed meanwhile', async () => {
    let running = 0;
    let maxRunning = 0;
    let calls = 0;
    sut = new WorkQueue(
      async () => {
        calls++;
        maxRunning = Math.max(maxRunning, ++running);
        await sleep(20);
        running--;
      },
      { workers: 4 },
    );
    sut.start();
    sut.add('a');
    await sleep(5);
    sut.add('a');
    sut.add('a');
    await sleep(80);
    expect(maxRunning).toBe(1);
    expect(calls).toBe(2);
  });

  it('retries a failing key with a growing delay, then stops once it succeeds', async () => {
    const at: number[] = [];
    const delays: number[] = [];
    sut = new WorkQueue(
      async () => {
        at.push(Date.now());
        if (at.length < 4) throw new Error('not yet');
      },
      { workers: 1, baseDelayMs: 10, onError: (_key, _error, retryInMs) => delays.push(retryInMs) },
    );
    sut.start();
    sut.add('a');
    await sleep(200);
    expect(at).toHaveLength(4);
    expect(delays).toEqual([10, 20, 40]);
  });

  it('requeues after the delay a successful handler asks for', async () => {
    let calls = 0;
    sut = new WorkQueue(async () => (++calls < 3 ? { requeueAfterMs: 10 } : undefined), { workers: 2 });
    sut.start();
    sut.add('a');
    await sleep(100);
    expect(calls).toBe(3);
  });
});
