import { Inject, Injectable } from '@nestjs/common';
import {
  Condition,
  create,
  encode,
  Engine,
  Step,
  stepSlug,
  StoreStatusChangedSchema,
  subjects,
  timestampFromDate,
} from '@urumi/contracts';
import { createHash } from 'node:crypto';
import { JetStreamPublisher } from './publisher';

/** Which store an event is about, as `store.status.*` messages name it. */
export interface StoreIdentity {
  readonly storeId: string;
  readonly name: string;
  readonly owner: string;
  readonly engine?: Engine;
  readonly requestId?: string;
  readonly url?: string;
  readonly namespace?: string;
}

export interface StoreEvent {
  readonly step: Step;
  readonly reason?: string;
  readonly message?: string;
  readonly at?: Date;
  /**
   * Tells apart announcements of one step that say something new: a Ready store turning Degraded, and Ready again.
   * Part of the Nats-Msg-Id, so each of them is stored and a repeat of one is not.
   */
  readonly revision?: string;
}

/**
 * Publishes a store's status changes to JetStream for the gateway (and anyone else). Each event's
 * Nats-Msg-Id is derived from what it says, so a reconcile that repeats after a crash publishes
 * nothing new.
 */
@Injectable()
export class StoreEventPublisher {
  constructor(@Inject(JetStreamPublisher) private readonly publisher: JetStreamPublisher) {}

  async publish(identity: StoreIdentity, event: StoreEvent, conditions: Condition[] = []): Promise<void> {
    const payload = create(StoreStatusChangedSchema, {
      ...identity,
      step: event.step,
      reason: event.reason ?? '',
      message: event.message ?? '',
      conditions,
      occurredAt: timestampFromDate(event.at ?? new Date()),
    });
    const detail = event.reason
      ? `:${createHash('sha256')
          .update(`${event.reason}\n${event.message ?? ''}`)
          .digest('hex')
          .slice(0, 12)}`
      : '';
    await this.publisher.publishJson(subjects.status(event.step), encode(StoreStatusChangedSchema, payload), {
      msgId: `status:${identity.storeId}:${stepSlug(event.step)}${detail}${event.revision ? `@${event.revision}` : ''}`,
      ...(identity.requestId ? { headers: { 'Urumi-Request-Id': identity.requestId } } : {}),
    });
  }
}
