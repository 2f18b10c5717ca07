import { LoggerService } from '@nestjs/common';
import { ErrorCode, NatsError } from 'nats';
import { describeError } from './errors';
import { sleep } from './server/in-flight';

/**
 * True when JetStream did not answer a request rather than refused it: the request timed out (a stalled server, a
 * partition after the connect), nobody answered (JetStream not running yet on this server), or the cluster said it
 * is temporarily unavailable (still electing its meta leader). Asking again later may succeed.
 */
export function isUnanswered(error: unknown): boolean {
  if (!(error instanceof NatsError)) return false;
  if (error.api_error) return error.api_error.code === 503;
  return error.code === ErrorCode.Timeout || error.code === ErrorCode.NoResponders;
}

export interface UntilAnsweredOptions {
  /** Gives up (rethrowing the last error) once aborted: the service is shutting down. */
  readonly signal?: AbortSignal;
  readonly retryMs?: number;
  /** How often a wait still going on is logged again. */
  readonly remindMs?: number;
}

const RETRY_MS = 1_000;
const REMIND_MS = 30_000;

/**
 * Runs `operation` (something a service does at start-up: ensure a stream, open a bucket, create a consumer) until
 * JetStream answers it, so a service started during a NATS fault waits for NATS instead of crashing. It must be safe
 * to run again from the start. Errors other than an unanswered request are thrown at once.
 */
export async function untilAnswered<T>(
  what: string,
  operation: () => Promise<T>,
  logger: LoggerService,
  { signal, retryMs = RETRY_MS, remindMs = REMIND_MS }: UntilAnsweredOptions = {},
): Promise<T> {
  const started = Date.now();
  let attempts = 0;
  let remindAt = 0;
  for (;;) {
    attempts++;
    try {
      const result = await operation();
      if (attempts > 1) logger.log({ msg: 'JetStream answered', what, attempts, waitedMs: Date.now() - started });
      return result;
    } catch (error) {
      if (!isUnanswered(error) || signal?.aborted) throw error;
      if (Date.now() >= remindAt) {
        logger.warn({
          msg: 'JetStream did not answer; asking again until it does',
          what,
          attempts,
          waitedMs: Date.now() - started,
          error: describeError(error),
        });
        remindAt = Date.now() + remindMs;
      }
      await sleep(retryMs, signal);
    }
  }
}
