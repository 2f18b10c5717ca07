import { isRevisionConflict, KeyValueBuckets } from '@urumi/messaging';
import { randomUUID } from 'node:crypto';
import { KV, KvEntry } from 'nats';

/** The first answer to a request, replayed to its retries. */
export interface StoredAnswer {
  readonly status: number;
  /** The JSON body as sent; for a refusal, the HttpException's response. */
  readonly body: unknown;
  readonly location?: string;
  /** A refusal (4xx) is replayed by throwing it again, so exception filters format it as the first time. */
  readonly refusal: boolean;
}

/**
 * What a key holds. `resourceId` is the id of whatever the request creates, chosen at its first claim and kept
 * until its answer is: a retry after a run that died or failed in doubt creates the same thing, never a second one.
 */
type IdempotencyRecord =
  | { readonly state: 'pending'; readonly fingerprint: string; readonly resourceId: string; readonly startedAt: number }
  | { readonly state: 'released'; readonly fingerprint: string; readonly resourceId: string }
  | { readonly state: 'done'; readonly fingerprint: string; readonly answer: StoredAnswer };

/** The run of a request that holds its key. */
export interface IdempotentRun {
  /** The id of what the request creates, the same in each of its runs. */
  readonly resourceId: string;
  /** An earlier run of this request died or gave up in doubt: it may have got anywhere. */
  readonly resumed: boolean;
}

/** What a request finds under its key. */
export type Claim =
  | ({ readonly kind: 'claimed'; readonly revision: number } & IdempotentRun)
  | { readonly kind: 'done'; readonly fingerprint: string; readonly answer: StoredAnswer }
  | { readonly kind: 'in-progress'; readonly fingerprint: string };

export interface IdempotencyStoreOptions {
  /** How long an answer is kept (the bucket's TTL). */
  readonly ttlMs: number;
  /** A pending claim older than this was left by a replica that died mid-request: it may be taken over. */
  readonly pendingTimeoutMs: number;
}

const MAX_ATTEMPTS = 5;

/**
 * Answers by idempotency key in a JetStream KV bucket shared by all replicas. A request claims its key
 * with an atomic create (only one of two concurrent duplicates wins), then replaces the claim with its
 * answer, or releases the key so that a retry runs again.
 */
export class IdempotencyStore {
  constructor(
    private readonly kv: KV,
    private readonly pendingTimeoutMs: number,
  ) {}

  static async open(
    buckets: KeyValueBuckets,
    bucket: string,
    options: IdempotencyStoreOptions,
  ): Promise<IdempotencyStore> {
    const kv = await buckets.open(bucket, { ttlMs: options.ttlMs });
    return new IdempotencyStore(kv, options.pendingTimeoutMs);
  }

  async claim(key: string, fingerprint: string): Promise<Claim> {
    const pending = (resourceId: string): string =>
      JSON.stringify({ state: 'pending', fingerprint, resourceId, startedAt: Date.now() } satisfies IdempotencyRecord);
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const fresh = randomUUID();
      try {
        return {
          kind: 'claimed',
          revision: await this.kv.create(key, pending(fresh)),
          resourceId: fresh,
          resumed: false,
        };
      } catch (error) {
        if (!isRevisionConflict(error)) throw error;
      }
      const entry = await this.kv.get(key);
      if (!entry || entry.operation !== 'PUT') continue;
      const record = parseRecord(entry);
      if (record?.state === 'done') return { kind: 'done', fingerprint: record.fingerprint, answer: record.answer };
      const abandoned = record?.state === 'pending' && Date.now() - record.startedAt >= this.pendingTimeoutMs;
      if (record?.state === 'pending' && (!abandoned || record.fingerprint !== fingerprint)) {
        // Still running, or a run of another body that may have got anywhere: not ours to take over.
        return { kind: 'in-progress', fingerprint: record.fingerprint };
      }
      // Abandoned or released by a run of this same body: resume it. Anything else (released by another body,
      // unreadable) starts afresh.
      const run: IdempotentRun =
        record && record.fingerprint === fingerprint
          ? { resourceId: record.resourceId, resumed: true }
          : { resourceId: fresh, resumed: false };
      try {
        return {
          kind: 'claimed',
          revision: await this.kv.update(key, pending(run.resourceId), entry.revision),
          ...run,
        };
      } catch (error) {
        if (!isRevisionConflict(error)) throw error;
      }
    }
    throw new Error(`idempotency key ${key} is too contended`);
  }

  /** Replaces our claim (at `revision`) with the answer. */
  async complete(key: string, revision: number, fingerprint: string, answer: StoredAnswer): Promise<void> {
    await this.kv.update(
      key,
      JSON.stringify({ state: 'done', fingerprint, answer } satisfies IdempotencyRecord),
      revision,
    );
  }

  /**
   * Gives up our claim without an answer (a 5xx), unless someone else has taken the key over since: a retry may
   * run at once, and creates what this run may have begun (`resourceId`).
   */
  async release(key: string, revision: number, fingerprint: string, resourceId: string): Promise<void> {
    await this.kv.update(
      key,
      JSON.stringify({ state: 'released', fingerprint, resourceId } satisfies IdempotencyRecord),
      revision,
    );
  }
}

/** An unreadable record counts as abandoned and is taken over. */
function parseRecord(entry: KvEntry): IdempotencyRecord | undefined {
  let value: unknown;
  try {
    value = entry.json<unknown>();
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Partial<Record<string, unknown>>;
  if (typeof record['fingerprint'] !== 'string') return undefined;
  const resourceId = typeof record['resourceId'] === 'string';
  if (record['state'] === 'pending' && resourceId && typeof record['startedAt'] === 'number')
    return value as IdempotencyRecord;
  if (record['state'] === 'released' && resourceId) return value as IdempotencyRecord;
  if (record['state'] === 'done' && typeof record['answer'] === 'object' && record['answer'] !== null)
    return value as IdempotencyRecord;
  return undefined;
}
