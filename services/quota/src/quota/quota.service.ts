import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import {
  create,
  CreateStoreCommand,
  encode,
  Step,
  stepSlug,
  StoreStatusChanged,
  StoreStatusChangedSchema,
  timestampFromDate,
} from '@urumi/contracts';
import { JetStreamPublisher } from '@urumi/messaging';
import { Registry } from 'prom-client';
import {
  concludeOwner,
  Decision,
  dropFromPlatform,
  dropFromSource,
  Leftovers,
  leftoversOf,
  limitsFor,
  QuotaLimits,
  Release,
  releaseOwner,
  reserveOwner,
  reservePlatform,
  reserveSource,
  sourceOf,
} from './ledger';
import { LedgerStore } from './ledger.store';
import { QuotaMetrics } from './quota.metrics';
import { QuotaSubjects } from './quota.subjects';

export interface QuotaOptions {
  readonly limits: QuotaLimits;
  readonly subjects: QuotaSubjects;
}

export const QUOTA_OPTIONS = Symbol('QUOTA_OPTIONS');

export type { Release } from './ledger';

/** Decides create commands against the shared ledger, announces each decision, and frees slots. */
@Injectable()
export class QuotaService {
  private readonly logger = new Logger(QuotaService.name);
  private readonly metrics: QuotaMetrics;

  constructor(
    private readonly ledger: LedgerStore,
    @Inject(JetStreamPublisher) private readonly publisher: JetStreamPublisher,
    @Inject(QUOTA_OPTIONS) private readonly options: QuotaOptions,
    @Optional() @Inject(Registry) registry?: Registry,
  ) {
    this.metrics = new QuotaMetrics(registry);
  }

  /** Safe to repeat: a command already decided gets its first decision again, announced with the same msgId. */
  async decideCreate(command: CreateStoreCommand): Promise<Decision> {
    const { decision, repeated } = await this.decide(command);
    this.logger.log({
      msg: 'Decided store creation',
      storeId: command.storeId,
      owner: command.owner,
      decision: decision.outcome,
      ...(decision.outcome === 'rejected' ? { reason: decision.reason } : {}),
      repeated,
      requestId: command.requestId,
    });
    if (decision.outcome !== 'withdrawn') await this.announce(command, decision);
    if (!repeated) this.metrics.decided(decision.outcome, decision.outcome === 'rejected' ? decision.reason : '');
    return decision;
  }

  /** Safe to repeat: a slot is freed once, however often the store's end is reported. */
  async release(event: StoreStatusChanged, ending: Step.DELETED | Step.FAILED): Promise<Release> {
    const { storeId, owner } = event;
    const { outcome, leftovers } = await this.ledger.updateOwner(owner, (record) => {
      const change = releaseOwner(record, storeId, new Date());
      return {
        record: change.record,
        result: { outcome: change.result, leftovers: leftoversOf(change.record, storeId) },
      };
    });
    // Also on a repeat: the process may have stopped between freeing the owner's slot and the platform's.
    if (leftovers.platform) await this.ledger.updatePlatform((record) => dropFromPlatform(record, storeId));
    if (outcome === 'freed') this.metrics.slotFreed();
    if (outcome !== 'unchanged') {
      this.logger.log({
        msg: outcome === 'freed' ? 'Freed quota slot' : 'Store ended before its creation was decided',
        storeId,
        owner,
        step: stepSlug(ending),
        requestId: event.requestId,
      });
    }
    return outcome;
  }

  /**
   * Owner first (its record is where the decision is committed), then source, then platform, each by its own
   * compare-and-set, holding what it reserved; the commit in the owner's record decides, and what a decision other
   * than approval reserved is given back after it. Limits are never exceeded: a reservation counts from the moment
   * it is made, so racing commands can only be refused early, never admitted past a cap.
   */
  private async decide(command: CreateStoreCommand): Promise<{ decision: Decision; repeated: boolean }> {
    const { storeId, owner } = command;
    const limits = limitsFor(this.options.limits, owner);
    const reservation = await this.ledger.updateOwner(owner, (record) =>
      reserveOwner(record, command, limits, new Date()),
    );
    if (reservation.kind === 'decided') {
      await this.dropLeftovers(command, reservation.leftovers);
      return reservation;
    }
    const source = sourceOf(command);
    const refusal =
      (source
        ? await this.ledger.updateSource(source, (record) =>
            reserveSource(record, storeId, limits.maxCreatesPerSourcePerHour, reservation.at),
          )
        : undefined) ??
      (await this.ledger.updatePlatform((record) =>
        reservePlatform(record, storeId, this.options.limits.platformMaxActiveStores, reservation.at),
      ));
    const conclusion = await this.ledger.updateOwner(owner, (record) =>
      concludeOwner(record, storeId, refusal, new Date()),
    );
    await this.dropLeftovers(command, conclusion.leftovers);
    return conclusion;
  }

  private async dropLeftovers(command: CreateStoreCommand, leftovers: Leftovers): Promise<void> {
    const source = sourceOf(command);
    if (leftovers.source && source) {
      await this.ledger.updateSource(source, (record) => dropFromSource(record, command.storeId));
    }
    if (leftovers.platform) await this.ledger.updatePlatform((record) => dropFromPlatform(record, command.storeId));
  }

  private async announce(
    command: CreateStoreCommand,
    decision: Exclude<Decision, { outcome: 'withdrawn' }>,
  ): Promise<void> {
    const step = decision.outcome === 'approved' ? Step.APPROVED : Step.REJECTED;
    const event = create(StoreStatusChangedSchema, {
      storeId: command.storeId,
      name: command.name,
      engine: command.engine,
      owner: command.owner,
      step,
      reason: decision.outcome === 'rejected' ? decision.reason : '',
      message: decision.outcome === 'rejected' ? decision.message : '',
      requestId: command.requestId,
      occurredAt: timestampFromDate(new Date(decision.at)),
    });
    await this.publisher.publishJson(this.options.subjects.decision(step), encode(StoreStatusChangedSchema, event), {
      msgId: `status:${command.storeId}:${stepSlug(step)}`,
      ...(command.requestId ? { headers: { 'Urumi-Request-Id': command.requestId } } : {}),
    });
  }
}
