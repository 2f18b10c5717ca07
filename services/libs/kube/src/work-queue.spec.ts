import { metricSamples, metricValuesBy } from '@urumi/runtime';
import { Registry } from 'prom-client';
import { WorkQueue, WorkQueueMetrics } from './work-queue';

/** A handler's promise that the test settles, so "still running" is a fact rather than a delay. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

describe(WorkQueue.name, () => {
  let sut: WorkQueue | undefined;

  beforeEach(() => jest.useFakeTimers());
  afterEach(async () => {
    await sut?.shutdown();
    jest.useRealTimers();
  });

  it('handles a key added many times while it waits once', async () => {
    const handled: string[] = [];
    sut = new WorkQueue(async (key) => void handled.push(key), { workers: 1 });
    for (let i = 0; i < 5; i++) sut.add('a');
    sut.add('b');
    sut.start();
    await jest.advanceTimersByTimeAsync(0);
    expect(handled).toEqual(['a', 'b']);
  });

  it('never handles one key in two workers at once, and handles it again if it changed meanwhile', async () => {
    let running = 0;
    let maxRunning = 0;
    const gates = [gate(), gate()];
    let calls = 0;
    sut = new WorkQueue(
      async () => {
        const current = gates[calls++]!;
        maxRunning = Math.max(maxRunning, ++running);
        await current.promise;
        running--;
      },
      { workers: 4 },
    );
    sut.start();
    sut.add('a');
    await jest.advanceTimersByTimeAsync(0);
    sut.add('a');
    sut.add('a');
    await jest.advanceTimersByTimeAsync(0);
    expect([calls, running]).toEqual([1, 1]);

    gates[0]!.open();
    await jest.advanceTimersByTimeAsync(0);
    expect(calls).toBe(2);
    gates[1]!.open();
    await jest.advanceTimersByTimeAsync(0);

    expect([maxRunning, calls, running]).toEqual([1, 2, 0]);
  });

  it('retries a failing key after exactly the doubling delay, then stops once it succeeds', async () => {
    const at: number[] = [];
    const delays: number[] = [];
    const start = Date.now();
    sut = new WorkQueue(
      async () => {
        at.push(Date.now() - start);
        if (at.length < 4) throw new Error('not yet');
      },
      { workers: 1, baseDelayMs: 10, onError: (_key, _error, retryInMs) => delays.push(retryInMs) },
    );
    sut.start();
    sut.add('a');
    await jest.advanceTimersByTimeAsync(9);
    expect(at).toEqual([0]);

    await jest.advanceTimersByTimeAsync(1_000);

    expect(at).toEqual([0, 10, 30, 70]);
    expect(delays).toEqual([10, 20, 40]);
  });

  it('caps the backoff at maxDelayMs', async () => {
    const delays: number[] = [];
    sut = new WorkQueue(
      async () => {
        throw new Error('never');
      },
      { workers: 1, baseDelayMs: 10, maxDelayMs: 50, onError: (_key, _error, retryInMs) => delays.push(retryInMs) },
    );
    sut.start();
    sut.add('a');
    await jest.advanceTimersByTimeAsync(10 + 20 + 40 + 50 + 50);

    expect(delays).toEqual([10, 20, 40, 50, 50, 50]);
  });

  it('requeues after the delay a successful handler asks for, and not before', async () => {
    let calls = 0;
    sut = new WorkQueue(async () => (++calls < 3 ? { requeueAfterMs: 10 } : undefined), { workers: 2 });
    sut.start();
    sut.add('a');
    await jest.advanceTimersByTimeAsync(9);
    expect(calls).toBe(1);

    await jest.advanceTimersByTimeAsync(100);

    expect(calls).toBe(3);
  });

  it('counts its depth, adds, retries, requeues and handling time under its name', async () => {
    const registry = new Registry();
    const metrics = new WorkQueueMetrics(registry, 'stores');
    const outcomes: Record<string, (() => Promise<{ requeueAfterMs: number } | void>)[]> = {
      a: [async () => Promise.reject(new Error('conflict')), async () => undefined],
      b: [async () => ({ requeueAfterMs: 1_000 })],
    };
    sut = new WorkQueue((key) => outcomes[key]!.shift()!(), { workers: 1, baseDelayMs: 10, metrics });
    sut.add('a');
    sut.add('a');
    sut.add('b');
    expect(await metricValuesBy(registry, 'urumi_workqueue_depth', 'queue')).toEqual({ stores: 2 });

    sut.start();
    await jest.advanceTimersByTimeAsync(50);

    const count = (series: string) => metricValuesBy(registry, series, 'queue');
    expect(await count('urumi_workqueue_depth')).toEqual({ stores: 0 });
    expect(await count('urumi_workqueue_adds_total')).toEqual({ stores: 3 });
    expect(await count('urumi_workqueue_retries_total')).toEqual({ stores: 1 });
    expect(await count('urumi_workqueue_requeues_total')).toEqual({ stores: 1 });
    expect(await metricValuesBy(registry, 'urumi_reconcile_duration_seconds_count', 'result')).toEqual({
      error: 1,
      success: 2,
    });
    expect((await metricSamples(registry, 'urumi_reconcile_duration_seconds_count'))[0]?.labels).toEqual({
      queue: 'stores',
      result: 'error',
    });
  });
});
