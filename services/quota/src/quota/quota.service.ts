import { Inject, Injectable, Logger } from '@nestjs/common';
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
import { decide, Decision, QuotaLimits, release } from './ledger';
import { LedgerStore } from './ledger.store';
import { QuotaSubjects } from './quota.subjects';

export interface QuotaOptions {
  readonly limits: QuotaLimits;
  readonly subjects: QuotaSubjects;
}

export const QUOTA_OPTIONS = Symbol('QUOTA_OPTIONS');

/** What a Deleted or Failed event did to the ledger. */
export type Release = 'freed' | 'recorded-before-decision' | 'unchanged';

/** Decides create commands against the shared ledger, announces each decision, and frees slots. */
@Injectable()
export class QuotaService {
  private readonly logger = new Logger(QuotaService.name);

  constructor(
    private readonly ledger: LedgerStore,
    @Inject(JetStreamPublisher) private readonly publisher: JetStreamPublisher,
    @Inject(QUOTA_OPTIONS) private readonly options: QuotaOptions,
  ) {}

  /** Safe to repeat: a command already decided gets its first decision again, announced with the same msgId. */
  async decideCreate(command: CreateStoreCommand): Promise<Decision> {
    const { decision, repeated } = await this.ledger.update((ledger) => {
      const verdict = decide(ledger, command, this.options.limits, new Date());
      return { ledger: verdict.ledger, result: { decision: verdict.decision, repeated: verdict.ledger === ledger } };
    });
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
    return decision;
  }

  /** Safe to repeat: a slot is freed once, however often the store's end is reported. */
  async release(event: StoreStatusChanged, ending: Step.DELETED | Step.FAILED): Promise<Release> {
    const { storeId } = event;
    const outcome = await this.ledger.update<Release>((ledger) => {
      const next = release(ledger, storeId, new Date());
      if (next === ledger) return { ledger, result: 'unchanged' };
      return { ledger: next, result: ledger.active[storeId] ? 'freed' : 'recorded-before-decision' };
    });
    if (outcome !== 'unchanged') {
      this.logger.log({
        msg: outcome === 'freed' ? 'Freed quota slot' : 'Store ended before its creation was decided',
        storeId,
        owner: event.owner,
        step: stepSlug(ending),
        requestId: event.requestId,
      });
    }
    return outcome;
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
