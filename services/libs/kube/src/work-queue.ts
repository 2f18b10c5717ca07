import { Counter, Gauge, Histogram, Registry } from 'prom-client';

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
  /** Where the queue's depth, adds, retries, requeues and handling durations are counted. */
  readonly metrics?: WorkQueueMetrics;
}

/**
 * A queue's metrics, in the manner of client-go's workqueue metrics: registered once per process under the queue's
 * name and shared by every queue that takes that name (one per term of leadership).
 */
export class WorkQueueMetrics {
  readonly depth: Gauge;
  readonly adds: Counter;
  readonly retries: Counter;
  readonly requeues: Counter;
  readonly duration: Histogram;
  readonly labels: { readonly queue: string };

  constructor(registry: Registry, queue: string) {
    const registers = [registry];
    const labelNames = ['queue'];
    this.labels = { queue };
    this.depth = new Gauge({
      name: 'urumi_workqueue_depth',
      help: 'Keys waiting to be handled',
      labelNames,
      registers,
    });
    this.adds = new Counter({
      name: 'urumi_workqueue_adds_total',
      help: 'Keys added to the queue (a key added while it already waits counts once)',
      labelNames,
      registers,
    });
    this.retries = new Counter({
      name: 'urumi_workqueue_retries_total',
      help: 'Keys whose handling failed and is retried after a backoff',
      labelNames,
      registers,
    });
    this.requeues = new Counter({
      name: 'urumi_workqueue_requeues_total',
      help: 'Keys handled successfully that asked to be looked at again after a delay (e.g. waiting for a workload)',
      labelNames,
      registers,
    });
    this.duration = new Histogram({
      name: 'urumi_reconcile_duration_seconds',
      help: 'How long handling one key took, by result (success, error)',
      labelNames: ['queue', 'result'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    // Every series from the start, so a rate over them is 0 rather than absent before the first retry.
    this.depth.set(this.labels, 0);
    for (const counter of [this.adds, this.retries, this.requeues]) counter.inc(this.labels, 0);
  }
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
    this.observeDepth(true);
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
    this.observeDepth();
    for (const wake of this.idleWorkers.splice(0)) wake();
    await Promise.all(this.workers);
  }

  private observeDepth(added = false): void {
    const metrics = this.options.metrics;
    if (!metrics) return;
    if (added) metrics.adds.inc(metrics.labels);
    metrics.depth.set(metrics.labels, this.queue.length);
  }

  private async work(): Promise<void> {
    while (!this.stopped) {
      const key = this.queue.shift();
      if (key === undefined) {
        await new Promise<void>((resolve) => this.idleWorkers.push(resolve));
        continue;
      }
      this.queued.delete(key);
      this.observeDepth();
      this.processing.add(key);
      const metrics = this.options.metrics;
      const stopTimer = metrics?.duration.startTimer(metrics.labels);
      let retryInMs: number | undefined;
      try {
        const result = await this.handler(key);
        stopTimer?.({ result: 'success' });
        this.failures.delete(key);
        retryInMs = result?.requeueAfterMs;
        if (retryInMs !== undefined) metrics?.requeues.inc(metrics.labels);
      } catch (error) {
        stopTimer?.({ result: 'error' });
        metrics?.retries.inc(metrics.labels);
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
