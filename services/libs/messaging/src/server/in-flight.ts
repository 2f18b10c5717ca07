/** The messages one consumer is handling, at most `limit` at a time. */
export class InFlight {
  private readonly running = new Set<Promise<void>>();
  private readonly waiters = new Set<() => void>();

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`concurrency must be a whole number ≥ 1, not ${limit}`);
  }

  get size(): number {
    return this.running.size;
  }

  get free(): number {
    return Math.max(0, this.limit - this.running.size);
  }

  /** `task` must not reject. */
  track(task: Promise<void>): void {
    this.running.add(task);
    void task.finally(() => {
      this.running.delete(task);
      this.notify();
    });
  }

  /** Resolves once a slot is free, or at once when `signal` is aborted. */
  async waitForFreeSlot(signal: AbortSignal): Promise<void> {
    while (this.free === 0 && !signal.aborted) await this.nextChange(signal);
  }

  /** Resolves true when every task has finished, false when `timeoutMs` passed first. */
  async settled(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.running.size > 0) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await Promise.race([Promise.all(this.running), sleep(left)]);
    }
    return true;
  }

  private nextChange(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.waiters.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      this.waiters.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

/** A delay that resolves early when `signal` is aborted, and never keeps the process alive. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    timer.unref();
    signal?.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}
