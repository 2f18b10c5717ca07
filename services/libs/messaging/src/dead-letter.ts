import { headers as createHeaders, JsMsg, MsgHdrs } from 'nats';
import type { JetStreamPublisher } from './publisher';

/** Headers a dead-lettered message carries beside its original ones. */
export const DeadLetterHeader = {
  reason: 'Urumi-Dlq-Reason',
  stream: 'Urumi-Dlq-Stream',
  sequence: 'Urumi-Dlq-Sequence',
  consumer: 'Urumi-Dlq-Consumer',
  deliveries: 'Urumi-Dlq-Deliveries',
  /** The original Nats-Msg-Id (the dead-letter copy gets its own, so a repeated dead-lettering is dropped). */
  msgId: 'Urumi-Dlq-Msg-Id',
} as const;

const MSG_ID_HEADER = 'Nats-Msg-Id';
const MAX_REASON_LENGTH = 512;

export interface DeadLetterFacts {
  readonly reason: string;
  readonly stream: string;
  readonly sequence: number;
  readonly consumer: string;
  readonly deliveries: number;
}

export function deadLetterSubject(originalSubject: string): string {
  return `deadletter.${originalSubject}`;
}

export function deadLetterMsgId(stream: string, sequence: number): string {
  return `dlq:${stream}:${sequence}`;
}

/** A header value on one line and of bounded size. */
export function headerSafe(text: string, maxLength = MAX_REASON_LENGTH): string {
  const oneLine = text.replace(/[\r\n]+/g, ' ').trim();
  return oneLine.length > maxLength ? `${oneLine.slice(0, maxLength - 1)}…` : oneLine;
}

/**
 * The original headers plus the dead-letter facts. `Nats-*` headers are left out: the server would act
 * on them again (expected stream or sequence, rollup, TTL) and could refuse the dead-letter publish.
 */
export function deadLetterHeaders(original: MsgHdrs | undefined, facts: DeadLetterFacts): MsgHdrs {
  const result = createHeaders();
  for (const [key, values] of original ?? []) {
    if (key.toLowerCase().startsWith('nats-')) continue;
    for (const value of values) result.append(key, value);
  }
  const originalMsgId = original?.get(MSG_ID_HEADER);
  if (originalMsgId) result.set(DeadLetterHeader.msgId, originalMsgId);
  result.set(DeadLetterHeader.reason, headerSafe(facts.reason));
  result.set(DeadLetterHeader.stream, facts.stream);
  result.set(DeadLetterHeader.sequence, String(facts.sequence));
  result.set(DeadLetterHeader.consumer, facts.consumer);
  result.set(DeadLetterHeader.deliveries, String(facts.deliveries));
  return result;
}

/** Copies a message, as it was received, to `deadletter.<its subject>` in the DEADLETTER stream. */
export class DeadLetterQueue {
  constructor(private readonly publisher: JetStreamPublisher) {}

  async send(message: JsMsg, reason: string): Promise<void> {
    const { stream, consumer, deliveryCount } = message.info;
    await this.publisher.publish(deadLetterSubject(message.subject), message.data, {
      msgId: deadLetterMsgId(stream, message.seq),
      headers: deadLetterHeaders(message.headers, {
        reason,
        stream,
        sequence: message.seq,
        consumer,
        deliveries: deliveryCount,
      }),
    });
  }
}
