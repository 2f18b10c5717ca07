import { RpcException } from '@nestjs/microservices';
import { NatsError } from 'nats';

export type PublishFailureReason = 'no-stream' | 'timeout' | 'connection-closed' | 'rejected' | 'unknown';

/** A publish JetStream did not confirm: the message may or may not be stored, so retry with the same msgId. */
export class PublishError extends Error {
  override readonly name = 'PublishError';

  constructor(
    readonly subject: string,
    readonly msgId: string,
    readonly reason: PublishFailureReason,
    cause: unknown,
    timeoutMs: number,
  ) {
    super(describePublishFailure(subject, msgId, reason, cause, timeoutMs), { cause });
  }
}

export function publishFailureReason(error: unknown): PublishFailureReason {
  if (!(error instanceof NatsError)) return 'unknown';
  if (error.api_error) return 'rejected';
  switch (error.code) {
    case '503':
      return 'no-stream';
    case 'TIMEOUT':
      return 'timeout';
    case 'CONNECTION_CLOSED':
    case 'CONNECTION_DRAINING':
      return 'connection-closed';
    default:
      return 'unknown';
  }
}

function describePublishFailure(
  subject: string,
  msgId: string,
  reason: PublishFailureReason,
  cause: unknown,
  timeoutMs: number,
): string {
  const prefix = `publish to "${subject}" (msgId ${msgId}) failed`;
  switch (reason) {
    case 'no-stream':
      return `${prefix}: no JetStream stream captures this subject (no responders)`;
    case 'timeout':
      return `${prefix}: JetStream did not acknowledge it within ${timeoutMs} ms`;
    case 'connection-closed':
      return `${prefix}: the NATS connection is closed`;
    case 'rejected':
      return `${prefix}: JetStream rejected it: ${describeError(cause)}`;
    case 'unknown':
      return `${prefix}: ${describeError(cause)}`;
  }
}

const POISON = Symbol.for('@urumi/messaging.poison');

/**
 * Thrown by a handler for a message that can never succeed (invalid for the contract, refers to nothing):
 * it is dead-lettered at once instead of being redelivered. An RpcException, so it keeps its identity
 * through Nest's default exception filter.
 */
export class PoisonMessageError extends RpcException {
  override readonly name = 'PoisonMessageError';

  constructor(reason: string) {
    super({ status: 'error', message: reason, [POISON]: true });
  }
}

export interface HandlerFailure {
  readonly poison: boolean;
  readonly reason: string;
}

/** What a handler's rejection means, whether it arrives as thrown or as Nest's exception filters reshaped it. */
export function classifyFailure(error: unknown): HandlerFailure {
  const poison =
    error instanceof PoisonMessageError ||
    (typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[POISON] === true);
  return { poison, reason: describeError(error) };
}

/** An error's message only: never the message payload or a stack. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  if (typeof error === 'object' && error !== null) {
    const message = (error as { message?: unknown }).message;
    if (typeof message === 'string') return message;
  }
  return String(error);
}
