import { Inject, Injectable } from '@nestjs/common';
import {
  Condition,
  ConditionSchema,
  create,
  encode,
  engineNames,
  EngineName,
  Engine,
  Step,
  stepSlug,
  StoreStatusChangedSchema,
  subjects,
  timestampFromDate,
} from '@urumi/contracts';
import { JetStreamPublisher } from '@urumi/messaging';
import { createHash } from 'node:crypto';
import { namespaceOf, Store } from './store';

export interface StoreEvent {
  readonly step: Step;
  readonly reason?: string;
  readonly message?: string;
  readonly at?: Date;
}

/** Where a store is served, as status events and the Store's status report it. */
export function storeUrl(store: Store, scheme: string): string {
  return `${scheme}://${store.spec.domain}`;
}

/**
 * Publishes a store's status changes to JetStream for the gateway (and anyone else). Each event's
 * Nats-Msg-Id is derived from what it says, so a reconcile that repeats after a crash publishes
 * nothing new.
 */
@Injectable()
export class StoreEventPublisher {
  constructor(@Inject(JetStreamPublisher) private readonly publisher: JetStreamPublisher) {}

  async publish(store: Store, event: StoreEvent, urlScheme = 'http'): Promise<void> {
    const conditions = (store.status?.conditions ?? []).map((c) =>
      create(ConditionSchema, {
        type: c.type,
        status: c.status,
        reason: c.reason,
        message: c.message,
        lastTransitionTime: timestampFromDate(new Date(c.lastTransitionTime)),
      }),
    );
    await this.publishRaw(
      {
        storeId: store.spec.storeId,
        name: store.metadata.name,
        engine: engineNames[store.spec.engine as EngineName] ?? Engine.UNSPECIFIED,
        owner: store.spec.owner,
        requestId: store.spec.requestId ?? '',
        url: storeUrl(store, urlScheme),
        namespace: namespaceOf(store.metadata.name),
      },
      event,
      conditions,
    );
  }

  /** For a store that never had a Store resource (deleted before it was provisioned). */
  async publishRaw(
    identity: {
      storeId: string;
      name: string;
      owner: string;
      engine?: Engine;
      requestId?: string;
      url?: string;
      namespace?: string;
    },
    event: StoreEvent,
    conditions: Condition[] = [],
  ): Promise<void> {
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
      msgId: `status:${identity.storeId}:${stepSlug(event.step)}${detail}`,
      ...(identity.requestId ? { headers: { 'Urumi-Request-Id': identity.requestId } } : {}),
    });
  }
}
