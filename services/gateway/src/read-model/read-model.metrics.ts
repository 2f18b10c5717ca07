import { Inject, Injectable, Optional } from '@nestjs/common';
import { engineName, Engine, Step, stepSlug, Store, timestampDate } from '@urumi/contracts';
import { Gauge, Registry } from 'prom-client';
import { isDegraded, ReadModel } from './read-model.service';

const PROVISIONING: ReadonlySet<Step> = new Set([
  Step.QUEUED,
  Step.APPROVED,
  Step.NAMESPACE_READY,
  Step.SECRETS_READY,
  Step.WORKLOAD_INSTALLED,
]);

/**
 * The fleet as this replica's read model holds it, computed at each scrape (no request to NATS or Kubernetes): stores
 * by step and engine, Ready stores that are degraded, and the age of the oldest store still provisioning (what the
 * stuck-provisioning alert watches). Every replica holds the same read model, so dashboards take the max.
 */
@Injectable()
export class ReadModelMetrics {
  constructor(readModel: ReadModel, @Optional() @Inject(Registry) registry?: Registry) {
    if (!registry) return;
    const registers = [registry];
    const stores = () => readModel.all();
    new Gauge({
      name: 'urumi_stores',
      help: 'Stores by step (requested … ready, failed, deleting) and engine, as the read model holds them',
      labelNames: ['step', 'engine'],
      registers,
      collect() {
        this.reset();
        for (const store of stores()) this.inc({ step: stepSlug(store.step), engine: engineOf(store) });
      },
    });
    new Gauge({
      name: 'urumi_stores_degraded',
      help: 'Ready stores whose workload is not all available (a Degraded condition), by engine',
      labelNames: ['engine'],
      registers,
      collect() {
        this.reset();
        for (const store of stores()) if (isDegraded(store)) this.inc({ engine: engineOf(store) });
      },
    });
    new Gauge({
      name: 'urumi_store_provisioning_oldest_age_seconds',
      help: 'How long the oldest store still provisioning (queued to workload-installed) was requested ago; 0 if none',
      registers,
      collect() {
        const now = Date.now();
        let oldest = 0;
        for (const store of stores()) {
          if (!PROVISIONING.has(store.step) || !store.createdAt) continue;
          oldest = Math.max(oldest, (now - timestampDate(store.createdAt).getTime()) / 1000);
        }
        this.set(oldest);
      },
    });
  }
}

function engineOf(store: Store): string {
  return store.engine === Engine.UNSPECIFIED ? 'unknown' : engineName(store.engine);
}
