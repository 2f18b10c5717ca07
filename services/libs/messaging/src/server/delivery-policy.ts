import { createHash } from 'node:crypto';
import { HandlerFailure } from '../errors';

export interface DeliveryPolicy {
  /** How many times a handler sees a message before it is dead-lettered. */
  readonly maxDeliver: number;
  /** Nak delay by delivery count: the first failure waits backoffMs[0], later ones the next entries, then the last. */
  readonly backoffMs: readonly number[];
}

export type FailureOutcome =
  | { readonly action: 'redeliver'; readonly delayMs: number }
  | { readonly action: 'dead-letter'; readonly reason: string };

export function nakDelayMs(backoffMs: readonly number[], deliveryCount: number): number {
  if (backoffMs.length === 0) return 0;
  const index = Math.min(Math.max(deliveryCount, 1), backoffMs.length) - 1;
  return backoffMs[index] ?? 0;
}

export function outcomeOfFailure(
  failure: HandlerFailure,
  deliveryCount: number,
  policy: DeliveryPolicy,
): FailureOutcome {
  if (failure.poison) return { action: 'dead-letter', reason: `poison message: ${failure.reason}` };
  if (deliveryCount >= policy.maxDeliver) {
    return {
      action: 'dead-letter',
      reason: `failed ${deliveryCount} of ${policy.maxDeliver} deliveries: ${failure.reason}`,
    };
  }
  return { action: 'redeliver', delayMs: nakDelayMs(policy.backoffMs, deliveryCount) };
}

/**
 * The server may deliver once more than maxDeliver: that spare delivery dead-letters a message whose
 * last attempt ended without an outcome (the process died, or the dead-letter publish failed).
 */
export function serverMaxDeliver(maxDeliver: number): number {
  return maxDeliver + 1;
}

export function isBeyondMaxDeliver(deliveryCount: number, policy: DeliveryPolicy): boolean {
  return deliveryCount > policy.maxDeliver;
}

/** How often a running handler tells the server it is still working: well inside ack_wait. */
export function workingIntervalMs(ackWaitMs: number): number {
  return Math.max(100, Math.floor(ackWaitMs / 3));
}

const MAX_DURABLE_NAME_LENGTH = 128;

/** `quota` + `store.cmd.>` → `quota-store-cmd-all`: deterministic, and valid as a durable name. */
export function durableName(prefix: string, pattern: string): string {
  const readable = `${sanitise(prefix)}-${sanitise(pattern.replace(/\*/g, 'star').replace(/>/g, 'all'))}`;
  if (readable.length <= MAX_DURABLE_NAME_LENGTH) return readable;
  const hash = createHash('sha256').update(`${prefix}\n${pattern}`).digest('hex').slice(0, 12);
  return `${readable.slice(0, MAX_DURABLE_NAME_LENGTH - hash.length - 1)}-${hash}`;
}

function sanitise(text: string): string {
  return text.replace(/\./g, '-').replace(/[^A-Za-z0-9_-]/g, '_');
}

export type DecodedPayload = { readonly ok: true; readonly value: unknown } | { readonly ok: false };

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** UTF-8 JSON, or not decodable (a poison message). The parse error is dropped: it quotes the payload. */
export function decodePayload(data: Uint8Array): DecodedPayload {
  try {
    return { ok: true, value: JSON.parse(utf8.decode(data)) };
  } catch {
    return { ok: false };
  }
}
