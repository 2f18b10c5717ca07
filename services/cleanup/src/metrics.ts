import { Inject, Injectable } from '@nestjs/common';
import { engineNames } from '@urumi/contracts';
import { WorkQueueMetrics } from '@urumi/kube';
import { Counter, Histogram, Registry } from 'prom-client';

/**
 * What teardown does, for Prometheus: stores deleted and how long each took (from the delete, the Store's deletion
 * timestamp, to its finalizer gone), teardown failures by reason, and the teardown work queue. Counted by the leader.
 */
@Injectable()
export class TeardownMetrics {
  readonly queue: WorkQueueMetrics;
  private readonly deletions: Counter;
  private readonly duration: Histogram;
  private readonly failures: Counter;

  constructor(@Inject(Registry) registry: Registry) {
    const registers = [registry];
    this.queue = new WorkQueueMetrics(registry, 'cleanup');
    this.deletions = new Counter({
      name: 'urumi_store_deletions_total',
      help: 'Stores torn down and reported Deleted, by engine',
      labelNames: ['engine'],
      registers,
    });
    this.duration = new Histogram({
      name: 'urumi_store_teardown_duration_seconds',
      help: "From a Store's deletion to its teardown done (workload uninstalled, namespace gone, finalizer removed)",
      buckets: [1, 2.5, 5, 10, 15, 30, 60, 120, 300, 600, 1800],
      registers,
    });
    this.failures = new Counter({
      name: 'urumi_store_teardown_failures_total',
      help: 'Teardown attempts that failed and are retried, by reason (UninstallFailed, TeardownFailed)',
      labelNames: ['reason'],
      registers,
    });
    // From zero, so the first deletion of each engine shows in increase() and rate().
    for (const engine of Object.keys(engineNames)) this.deletions.inc({ engine }, 0);
  }

  deleted(engine: string, deletedAt: Date | undefined, at: Date): void {
    this.deletions.inc({ engine });
    if (deletedAt) this.duration.observe(Math.max(0, (at.getTime() - deletedAt.getTime()) / 1000));
  }

  failed(reason: string): void {
    this.failures.inc({ reason });
  }
}
