import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  engineName,
  Step,
  StepSchema,
  stepSlug,
  Store,
  streams,
  timestampDate,
  type FailureView,
  type PlatformView,
  type StageView,
} from '@urumi/contracts';
import { durableName, NATS_CONNECTION, readJetStreamLag } from '@urumi/messaging';
import type { NatsConnection } from 'nats';
import { isDegraded, ReadModel } from '../read-model/read-model.service';

/** The gateway's own durable consumer: what feeds its read model. */
const GATEWAY_CONSUMER = durableName('gateway', 'store.>');
const RECENT_FAILURES = 10;

/** Which stage has a store in a step still to act on, and since when it has waited. */
const STAGES: readonly { stage: StageView['stage']; steps: ReadonlySet<Step>; since: 'createdAt' | 'updatedAt' }[] = [
  { stage: 'quota', steps: new Set([Step.QUEUED]), since: 'createdAt' },
  {
    stage: 'provisioner',
    steps: new Set([Step.APPROVED, Step.NAMESPACE_READY, Step.SECRETS_READY, Step.WORKLOAD_INSTALLED]),
    since: 'createdAt',
  },
  { stage: 'cleanup', steps: new Set([Step.DELETING]), since: 'updatedAt' },
];

/**
 * The platform page's figures: the fleet from the read model this replica holds (no request to Kubernetes), and what
 * NATS tells the gateway under its own grants (its consumer's lag, the dead-letter stream's size). The other
 * services' consumers are theirs alone: their lag is on their /metrics and the dashboard.
 */
@Injectable()
export class PlatformOverview {
  private readonly logger = new Logger(PlatformOverview.name);

  constructor(
    private readonly readModel: ReadModel,
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
  ) {}

  async view(now = Date.now()): Promise<PlatformView> {
    return { ...fleetOf(this.readModel.all(), now), ...(await this.bus()) };
  }

  private async bus(): Promise<Pick<PlatformView, 'consumers' | 'deadLetters'>> {
    const jsm = await this.nc.jetstreamManager({ checkAPI: false });
    const lag = await readJetStreamLag(jsm, [{ stream: streams.stores.name, durable: GATEWAY_CONSUMER }]);
    if (!lag) this.logger.warn({ msg: 'NATS did not give the event bus figures in time' });
    return { consumers: lag?.consumers ?? null, deadLetters: lag?.deadLetters ?? null };
  }
}

/** Counts by step, degraded Ready stores, the stages' queues and the newest failures, from the read model's stores. */
export function fleetOf(
  stores: readonly Store[],
  now: number,
): Pick<PlatformView, 'stores' | 'degraded' | 'stages' | 'recentFailures'> {
  const byStep: Record<string, number> = Object.fromEntries(
    // A deleted store leaves the read model: no count of them.
    StepSchema.values
      .filter((v) => v.number !== Step.UNSPECIFIED && v.number !== Step.DELETED)
      .map((v) => [stepSlug(v.number), 0]),
  );
  let degraded = 0;
  const stages = STAGES.map((stage) => ({ ...stage, view: { stage: stage.stage, stores: 0, oldestSeconds: 0 } }));
  const failures: FailureView[] = [];
  for (const store of stores) {
    if (store.step === Step.UNSPECIFIED) continue;
    const step = stepSlug(store.step);
    byStep[step] = (byStep[step] ?? 0) + 1;
    if (isDegraded(store)) degraded += 1;
    for (const { steps, since, view } of stages) {
      if (!steps.has(store.step)) continue;
      view.stores += 1;
      const at = store[since];
      if (at) view.oldestSeconds = Math.max(view.oldestSeconds, Math.round((now - timestampDate(at).getTime()) / 1000));
    }
    if (store.step === Step.FAILED || store.step === Step.REJECTED) {
      failures.push({
        id: store.id,
        name: store.name,
        engine: engineName(store.engine),
        owner: store.owner,
        step: stepSlug(store.step),
        reason: store.reason,
        message: store.message,
        at: store.updatedAt ? timestampDate(store.updatedAt).toISOString() : '',
      });
    }
  }
  failures.sort((a, b) => b.at.localeCompare(a.at));
  return {
    stores: byStep,
    degraded,
    stages: stages.map(({ view }) => view),
    recentFailures: failures.slice(0, RECENT_FAILURES),
  };
}
