import { Inject, Injectable } from '@nestjs/common';
import { engineNames } from '@urumi/contracts';
import { WorkQueueMetrics } from '@urumi/kube';
import { Counter, Histogram, Registry } from 'prom-client';

/**
 * What provisioning does, for Prometheus: how long a store takes from approval (its Store created) to Ready, and each
 * step from the one before; failures by reason (a bounded set of CamelCase reasons: engine, readiness and timeout
 * failures); the reconciler's work queue. Counted by the leader, which alone reconciles, as each step is first written
 * to the Store's status: once per store, whichever replica wrote it.
 */
@Injectable()
export class ProvisioningMetrics {
  readonly queue: WorkQueueMetrics;
  private readonly duration: Histogram;
  private readonly steps: Histogram;
  private readonly failures: Counter;

  constructor(@Inject(Registry) registry: Registry) {
    const registers = [registry];
    this.queue = new WorkQueueMetrics(registry, 'provisioner');
    this.duration = new Histogram({
      name: 'urumi_store_provisioning_duration_seconds',
      help: 'From a store approved (its Store resource created) to Ready, by engine',
      labelNames: ['engine'],
      buckets: [5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600, 900, 1800],
      registers,
    });
    this.steps = new Histogram({
      name: 'urumi_store_provisioning_step_duration_seconds',
      help: 'How long each provisioning step took, from the step before it, by step (namespace-ready … ready)',
      labelNames: ['step'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
      registers,
    });
    this.failures = new Counter({
      name: 'urumi_store_failures_total',
      help: 'Stores that failed provisioning, by engine and reason',
      labelNames: ['engine', 'reason'],
      registers,
    });
    // From zero, so the first store of each engine shows in increase() and rate().
    for (const engine of Object.keys(engineNames)) this.duration.zero({ engine });
  }

  /** A store reached `step` at `at`; `previous` is when it reached the step before. */
  stepReached(step: string, previous: Date | undefined, at: Date): void {
    if (previous) this.steps.observe({ step }, seconds(previous, at));
  }

  ready(engine: string, createdAt: Date | undefined, at: Date): void {
    if (createdAt) this.duration.observe({ engine }, seconds(createdAt, at));
  }

  failed(engine: string, reason: string): void {
    this.failures.inc({ engine, reason });
  }
}

const seconds = (from: Date, to: Date): number => Math.max(0, (to.getTime() - from.getTime()) / 1000);
