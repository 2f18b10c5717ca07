import { isRevisionConflict, KeyValueBuckets } from '@urumi/messaging';
import { KV, KvEntry } from 'nats';
import { createHash } from 'node:crypto';
import {
  Change,
  emptyOwnerRecord,
  emptyPlatformRecord,
  emptySourceRecord,
  OwnerRecord,
  PlatformRecord,
  SourceRecord,
} from './ledger';

const PLATFORM_KEY = 'platform';

export interface LedgerStoreOptions {
  /** Compare-and-set attempts before giving up (the message is then redelivered). */
  readonly maxAttempts: number;
}

export class LedgerContentionError extends Error {
  override readonly name = 'LedgerContentionError';
}

/**
 * The quota ledger in JetStream KV, one key per owner (`owners.<hash>`), per source address (`sources.<hash>`) and
 * one for the platform's slots, each changed only by compare-and-set: a replica reads a key with its revision,
 * changes it, and writes only if nobody wrote in between; otherwise it reads again and decides again. No key
 * grows with history, so no value approaches NATS's max_payload. One instance runs one change at a time.
 */
export class LedgerStore {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly kv: KV,
    private readonly options: LedgerStoreOptions = { maxAttempts: 100 },
  ) {}

  /** Opens the bucket, creating it on first use. */
  static async open(buckets: KeyValueBuckets, bucket: string, options?: LedgerStoreOptions): Promise<LedgerStore> {
    const kv = await buckets.open(bucket);
    return new LedgerStore(kv, options);
  }

  async readOwner(owner: string): Promise<OwnerRecord> {
    return parseOwner(await this.kv.get(ownerKey(owner)));
  }

  async readSource(source: string): Promise<SourceRecord> {
    return parseSource(await this.kv.get(sourceKey(source)));
  }

  async readPlatform(): Promise<PlatformRecord> {
    return parsePlatform(await this.kv.get(PLATFORM_KEY));
  }

  updateOwner<T>(owner: string, change: (record: OwnerRecord) => Change<OwnerRecord, T>): Promise<T> {
    return this.update(ownerKey(owner), parseOwner, change);
  }

  updateSource<T>(source: string, change: (record: SourceRecord) => Change<SourceRecord, T>): Promise<T> {
    return this.update(sourceKey(source), parseSource, change);
  }

  updatePlatform<T>(change: (record: PlatformRecord) => Change<PlatformRecord, T>): Promise<T> {
    return this.update(PLATFORM_KEY, parsePlatform, change);
  }

  private update<R, T>(
    key: string,
    parse: (entry: KvEntry | null) => R,
    change: (record: R) => Change<R, T>,
  ): Promise<T> {
    const run = this.queue.then(() => this.compareAndSet(key, parse, change));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async compareAndSet<R, T>(
    key: string,
    parse: (entry: KvEntry | null) => R,
    change: (record: R) => Change<R, T>,
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const entry = await this.kv.get(key);
      const current = parse(entry);
      const { record, result } = change(current);
      if (record === current) return result;
      const data = JSON.stringify(record);
      try {
        if (entry) await this.kv.update(key, data, entry.revision);
        else await this.kv.create(key, data);
        return result;
      } catch (error) {
        if (!isRevisionConflict(error)) throw error;
        if (attempt >= this.options.maxAttempts) {
          throw new LedgerContentionError(`the quota ledger's key ${key} changed under us ${attempt} times in a row`);
        }
        await backOff(attempt);
      }
    }
  }
}

/** Owners and addresses are hashed: KV keys allow few characters, and an OIDC subject may hold any. */
function ownerKey(owner: string): string {
  return `owners.${digest(owner)}`;
}

function sourceKey(source: string): string {
  return `sources.${digest(source)}`;
}

function digest(value: string): string {
  return createHash('sha256').update(value).digest('hex').slice(0, 40);
}

function parseObject(entry: KvEntry | null): Record<string, unknown> | undefined {
  if (!entry || entry.operation !== 'PUT' || entry.length === 0) return undefined;
  const value: unknown = JSON.parse(entry.string());
  if (typeof value !== 'object' || value === null) throw new Error(`the quota ledger's ${entry.key} is not an object`);
  return value as Record<string, unknown>;
}

function parseOwner(entry: KvEntry | null): OwnerRecord {
  const stored = parseObject(entry) as Partial<OwnerRecord> | undefined;
  if (!stored) return emptyOwnerRecord;
  return {
    active: stored.active ?? {},
    creations: stored.creations ?? [],
    decisions: stored.decisions ?? {},
    released: stored.released ?? {},
  };
}

function parseSource(entry: KvEntry | null): SourceRecord {
  const stored = parseObject(entry) as Partial<SourceRecord> | undefined;
  return stored ? { creations: stored.creations ?? [] } : emptySourceRecord;
}

function parsePlatform(entry: KvEntry | null): PlatformRecord {
  const stored = parseObject(entry) as Partial<PlatformRecord> | undefined;
  return stored ? { active: stored.active ?? {} } : emptyPlatformRecord;
}

/** Jittered, so replicas that collided do not collide again in lockstep. */
function backOff(attempt: number): Promise<void> {
  const ceilingMs = Math.min(2 ** attempt, 50);
  return new Promise((resolve) => setTimeout(resolve, Math.random() * ceilingMs));
}
