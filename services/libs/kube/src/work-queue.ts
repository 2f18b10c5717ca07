/** What a reconcile asks of the queue when it succeeds: nothing, or another look after a delay. */
export interface ReconcileResult {
  readonly requeueAfterMs?: number;
}

export interface WorkQueueOptions {
  /** Keys handled at the same time; one key is never handled by two workers at once. */
  readonly workers: number;
  /** The first retry delay after a failure; it doubles with each consecutive failure of that key. */
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  readonly onError?: (key: string, error: unknown, retryInMs: number) => void;
}

/**
 * A work queue in the manner of client-go's: a key waits at most once however often it is added;
 * a key added while it is being handled is handled again afterwards; failures retry with a per-key
 * exponential backoff; successes may ask to be looked at again later.
 */
export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, { timer: NodeJS.Timeout; due: number }>();
  private readonly idleWorkers: (() => void)[] = [];
  private readonly workers: Promise<void>[] = [];
  private stopped = false;

  constructor(
    private readonly handler: (key: string) => Promise<ReconcileResult | void>,
    private readonly options: WorkQueueOptions,
  ) {}

  start(): void {
    for (let i = 0; i < this.options.workers; i++) this.workers.push(this.work());
  }

  add(key: string): void {
    if (this.stopped) return;
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.queue.push(key);
    this.idleWorkers.shift()?.();
  }

  /** Adds the key after a delay; of two pending delays for one key, the sooner one wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.stopped) return;
    if (delayMs <= 0) return this.add(key);
    const due = Date.now() + delayMs;
    const pending = this.timers.get(key);
    if (pending) {
      if (pending.due <= due) return;
      clearTimeout(pending.timer);
    }
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, delayMs);
    this.timers.set(key, { timer, due });
  }

  /** Stops taking keys and waits for the ones being handled. */
  async shutdown(): Promise<void> {
    this.stopped = true;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.queue.length = 0;
    this.queued.clear();
    for (const wake of this.idleWorkers.splice(0)) wake();
    await Promise.all(this.workers);
  }

  private async work(): Promise<void> {
    while (!this.stopped) {
      const key = this.queue.shift();
      if (key === undefined) {
        await new Promise<void>((resolve) => this.idleWorkers.push(resolve));
        continue;
      }
      this.queued.delete(key);
      this.processing.add(key);
      let retryInMs: number | undefined;
      try {
        const result = await this.handler(key);
        this.failures.delete(key);
        retryInMs = result?.requeueAfterMs;
      } catch (error) {
        const failures = (this.failures.get(key) ?? 0) + 1;
        this.failures.set(key, failures);
        const base = this.options.baseDelayMs ?? 250;
        retryInMs = Math.min(base * 2 ** (failures - 1), this.options.maxDelayMs ?? 60_000);
        this.options.onError?.(key, error, retryInMs);
      } finally {
        this.processing.delete(key);
      }
      if (this.dirty.delete(key)) this.add(key);
      else if (retryInMs !== undefined) this.addAfter(key, retryInMs);
    }
  }
}
