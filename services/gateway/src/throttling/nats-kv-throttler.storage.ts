import { isRevisionConflict, KeyValueBuckets } from '@urumi/messaging';
import { ThrottlerStorage } from '@nestjs/throttler';
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { KV, KvEntry, StorageType } from 'nats';

export type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

/** One throttler's counter for one tracker: a fixed window that opens at its first hit. */
export interface Counter {
  readonly hits: number;
  /** When the window closes (epoch ms). */
  readonly resetAt: number;
  /** Set once the limit is exceeded with a block duration: no hit counts until then (epoch ms, 0 = not blocked). */
  readonly blockedUntil: number;
}

export interface HitRule {
  readonly ttlMs: number;
  readonly limit: number;
  readonly blockMs: number;
}

/**
 * The counter after one more hit at `now`. A hit of a caller already over the limit changes nothing
 * (`changed: false`), so a flood of refused requests costs reads, not writes.
 */
export function countHit(
  previous: Counter | undefined,
  now: number,
  rule: HitRule,
): { counter: Counter; changed: boolean } {
  if (previous && previous.blockedUntil > now) return { counter: previous, changed: false };
  const fresh = !previous || now >= previous.resetAt || previous.blockedUntil > 0;
  if (!fresh && previous.hits > rule.limit) return { counter: previous, changed: false };
  const hits = fresh ? 1 : previous.hits + 1;
  const resetAt = fresh ? now + rule.ttlMs : previous.resetAt;
  const blockedUntil = hits > rule.limit && rule.blockMs > 0 ? now + rule.blockMs : 0;
  return { counter: { hits, resetAt, blockedUntil }, changed: true };
}

export function recordOf(counter: Counter, now: number, limit: number): ThrottlerStorageRecord {
  const isBlocked = counter.hits > limit;
  const secondsUntil = (at: number) => Math.max(1, Math.ceil((at - now) / 1000));
  return {
    totalHits: counter.hits,
    timeToExpire: secondsUntil(counter.resetAt),
    isBlocked,
    timeToBlockExpire: isBlocked ? secondsUntil(counter.blockedUntil || counter.resetAt) : 0,
  };
}

const MAX_ATTEMPTS = 100;
/** Counters whose last revision a replica remembers (its busiest callers); past it the oldest is forgotten. */
const REMEMBERED_COUNTERS = 10_000;

export interface KvThrottlerStorageOptions {
  /** How long an idle counter stays in the bucket: at least the longest window plus block duration. */
  readonly ttlMs: number;
}

interface Waiter {
  resolve(record: ThrottlerStorageRecord): void;
  reject(error: unknown): void;
}

/** Hits on one counter waiting for the write in flight: they go together in the next one. */
interface Lane {
  readonly queued: Waiter[];
}

/** A counter as this replica last read or wrote it, at that bucket revision (0: the key did not exist). */
interface Snapshot {
  readonly counter: Counter | undefined;
  readonly revision: number;
}

/**
 * @nestjs/throttler storage in a JetStream KV bucket, so every gateway replica counts against the same
 * limits. Each write is a compare-and-set on the counter's revision, retried on conflict, so two replicas
 * never lose a hit. A replica remembers each counter's revision from its last read or write and writes on it
 * at once: a caller's next hit costs one round trip, and a hit of a caller over the limit none (counts only
 * grow within a window, so a remembered refusal stands); when another replica wrote in between, the write
 * conflicts and the counter is read again. Concurrent hits on one counter in one replica share a write.
 * Idle counters expire through the bucket's TTL. Window ends are wall-clock times: replicas' clocks must
 * agree to within a second (NTP).
 */
export class NatsKvThrottlerStorage implements ThrottlerStorage {
  private readonly lanes = new Map<string, Lane>();
  private readonly snapshots = new Map<string, Snapshot>();

  constructor(private readonly kv: KV) {}

  static async open(
    buckets: KeyValueBuckets,
    bucket: string,
    options: KvThrottlerStorageOptions,
  ): Promise<NatsKvThrottlerStorage> {
    // Memory storage: counters are hot and short-lived, and losing them in a NATS restart only forgives a minute.
    const kv = await buckets.open(bucket, { ttlMs: options.ttlMs, storage: StorageType.Memory });
    return new NatsKvThrottlerStorage(kv);
  }

  increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<ThrottlerStorageRecord> {
    const kvKey = counterKey(throttlerName, key);
    const rule: HitRule = { ttlMs: ttl, limit, blockMs: blockDuration };
    const laneKey = `${kvKey} ${ttl} ${limit} ${blockDuration}`;
    return new Promise((resolve, reject) => {
      const lane = this.lanes.get(laneKey);
      if (lane) {
        lane.queued.push({ resolve, reject });
        return;
      }
      const started: Lane = { queued: [{ resolve, reject }] };
      this.lanes.set(laneKey, started);
      void this.drain(laneKey, started, kvKey, rule);
    });
  }

  private async drain(laneKey: string, lane: Lane, kvKey: string, rule: HitRule): Promise<void> {
    while (lane.queued.length > 0) {
      const waiters = lane.queued.splice(0);
      try {
        const records = await this.countHits(kvKey, rule, waiters.length);
        records.forEach((record, i) => waiters[i]?.resolve(record));
      } catch (error) {
        for (const waiter of waiters) waiter.reject(error);
      }
    }
    this.lanes.delete(laneKey);
  }

  /** Counts `hits` hits in one write; the i-th record is what the i-th hit alone would have got. */
  private async countHits(kvKey: string, rule: HitRule, hits: number): Promise<ThrottlerStorageRecord[]> {
    let snapshot = this.snapshots.get(kvKey);
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      snapshot ??= this.remember(kvKey, snapshotOf(await this.kv.get(kvKey)));
      let counter = snapshot.counter;
      const now = Date.now();
      const records: ThrottlerStorageRecord[] = [];
      let changed = false;
      for (let i = 0; i < hits; i++) {
        const hit = countHit(counter, now, rule);
        counter = hit.counter;
        changed ||= hit.changed;
        records.push(recordOf(hit.counter, now, rule.limit));
      }
      if (!changed || !counter) return records;
      try {
        const value = JSON.stringify(counter);
        const revision = snapshot.revision
          ? await this.kv.update(kvKey, value, snapshot.revision)
          : await this.kv.create(kvKey, value);
        this.remember(kvKey, { counter, revision });
        return records;
      } catch (error) {
        if (!isRevisionConflict(error)) throw error;
        // Another replica counted hits in between (or the counter expired): read them and count ours on top.
        snapshot = undefined;
        this.snapshots.delete(kvKey);
        if (attempt > 3) await sleep(Math.random() * Math.min(attempt, 20));
      }
    }
    throw new Error(`rate-limit counter ${kvKey} is too contended: gave up after ${MAX_ATTEMPTS} attempts`);
  }

  private remember(kvKey: string, snapshot: Snapshot): Snapshot {
    this.snapshots.delete(kvKey);
    this.snapshots.set(kvKey, snapshot);
    if (this.snapshots.size > REMEMBERED_COUNTERS) {
      const oldest = this.snapshots.keys().next().value;
      if (oldest !== undefined) this.snapshots.delete(oldest);
    }
    return snapshot;
  }
}

function snapshotOf(entry: KvEntry | null): Snapshot {
  if (!entry) return { counter: undefined, revision: 0 };
  return { counter: entry.operation === 'PUT' ? parseCounter(entry) : undefined, revision: entry.revision };
}

/** KV keys allow only `[-/_=.A-Za-z0-9]`, and trackers may hold anything (user names, IPv6 addresses). */
function counterKey(throttlerName: string, key: string): string {
  const name = throttlerName.replace(/[^\w-]/g, '_');
  return `${name}.${createHash('sha256').update(key).digest('hex')}`;
}

function parseCounter(entry: KvEntry): Counter | undefined {
  try {
    const value = entry.json<Partial<Counter>>();
    if (typeof value.hits === 'number' && typeof value.resetAt === 'number' && typeof value.blockedUntil === 'number') {
      return { hits: value.hits, resetAt: value.resetAt, blockedUntil: value.blockedUntil };
    }
  } catch {
    // An unreadable counter is replaced by a fresh one.
  }
  return undefined;
}
