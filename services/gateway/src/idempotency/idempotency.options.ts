export interface IdempotencyOptions {
  /** The KV bucket of the answers (default `buckets.idempotency`); tests pass their own. */
  readonly bucket?: string;
  /** How long answers are kept (default 24 h). */
  readonly ttlMs?: number;
  /** After this long a claim whose request never finished may be taken over by a retry (default 30 s). */
  readonly pendingTimeoutMs?: number;
  /**
   * The HTTP status and message of an error that is not an HttpException (domain errors mapped by an
   * exception filter), so that their 4xx answers are kept and replayed too. Without it only
   * HttpExceptions are.
   */
  readonly describeError?: (error: unknown) => readonly [status: number, message: string];
}

export const IDEMPOTENCY_OPTIONS = Symbol('IDEMPOTENCY_OPTIONS');

export const DEFAULT_IDEMPOTENCY_TTL_MS = 24 * 60 * 60_000;
export const DEFAULT_PENDING_TIMEOUT_MS = 30_000;

/** Told of each retry answered from the idempotency store (one counter per process: the interceptor has instances). */
export const IDEMPOTENCY_REPLAYS = Symbol('IDEMPOTENCY_REPLAYS');
export type CountReplay = () => void;
