import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  engineName,
  Step,
  StepSchema,
  stepSlug,
  Store,
  streams,
  timestampDate,
  type ConsumerLagView,
  type FailureView,
  type PlatformView,
  type StageView,
} from '@urumi/contracts';
import { DEAD_LETTER_STREAM, durableName, NATS_CONNECTION } from '@urumi/messaging';
import type { NatsConnection } from 'nats';
import { ReadModel, Viewer } from '../read-model/read-model.service';

const EVERY_STORE: Viewer = { name: 'platform', role: 'admin' };
/** The gateway's own durable consumer: what feeds its read model. */
const GATEWAY_CONSUMER = durableName('gateway', 'store.>');
const RECENT_FAILURES = 10;
/** How long the page waits for NATS's figures before showing them as unknown. */
const NATS_TIMEOUT_MS = 2_000;

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
    const stores = this.readModel.list(EVERY_STORE).items;
    const bus = await this.bus();
    return { ...fleetOf(stores, now), ...bus };
  }

  private async bus(): Promise<Pick<PlatformView, 'consumers' | 'deadLetters'>> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`NATS did not answer within ${NATS_TIMEOUT_MS} ms`)), NATS_TIMEOUT_MS);
    });
    try {
      return await Promise.race([this.readBus(), timeout]);
    } catch (error) {
      this.logger.warn({ msg: 'Could not read the event bus figures', error: (error as Error).message });
      return { consumers: null, deadLetters: null };
    } finally {
      clearTimeout(timer);
    }
  }

  private async readBus(): Promise<Pick<PlatformView, 'consumers' | 'deadLetters'>> {
    const jsm = await this.nc.jetstreamManager({ checkAPI: false });
    const [consumer, deadLetters] = await Promise.all([
      jsm.consumers.info(streams.stores.name, GATEWAY_CONSUMER),
      jsm.streams.info(DEAD_LETTER_STREAM.name),
    ]);
    const lag: ConsumerLagView = {
      stream: consumer.stream_name,
      consumer: consumer.name,
      pending: consumer.num_pending,
      ackPending: consumer.num_ack_pending,
      redelivered: consumer.num_redelivered,
    };
    return { consumers: [lag], deadLetters: deadLetters.state.messages };
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
    if (store.step === Step.READY && store.conditions.some((c) => c.type === 'Degraded' && c.status === 'True')) {
      degraded += 1;
    }
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
