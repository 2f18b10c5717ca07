import { CreateStoreCommand } from '@urumi/contracts';
import { sourceKey } from '@urumi/runtime';

export const HOUR_MS = 60 * 60 * 1000;
/** How long a decision is remembered, so a late redelivery of its command gets the same answer. */
export const DECISION_RETENTION_MS = 24 * HOUR_MS;
/**
 * Rejections and early deletions beyond an owner's most recent ones are forgotten, so a flood of refused or
 * withdrawn requests cannot grow that owner's record without bound (about 120 bytes each).
 */
export const MAX_REMEMBERED_REJECTIONS = 200;
export const MAX_REMEMBERED_RELEASES = 200;

export type RejectionReason = 'QuotaExceeded' | 'OwnerRateLimited' | 'SourceRateLimited' | 'PlatformFull';

export interface Rejection {
  readonly reason: RejectionReason;
  readonly message: string;
}

/** `withdrawn`: the store was deleted before (or since) it was approved, so there is nothing to announce. */
export type Decision =
  | { readonly outcome: 'approved'; readonly at: number }
  | ({ readonly outcome: 'rejected'; readonly at: number } & Rejection)
  | { readonly outcome: 'withdrawn'; readonly at: number };

export interface OwnerLimits {
  readonly maxActiveStores: number;
  readonly maxCreatesPerHour: number;
  /** Creations per hour from one source IP, counted over every owner, for a command of this owner. */
  readonly maxCreatesPerSourcePerHour: number;
}

export interface QuotaLimits {
  /** For every owner without an override. */
  readonly owner: OwnerLimits;
  readonly overrides: Readonly<Record<string, Partial<OwnerLimits>>>;
  readonly platformMaxActiveStores: number;
}

export interface Creation {
  readonly storeId: string;
  readonly at: number;
}

/**
 * One owner's share of the ledger, and where each of its stores' decisions is committed. Its size is bounded by
 * the owner's limits (active stores, creations per hour × 24 decisions a day) and the caps above, never by history.
 */
export interface OwnerRecord {
  /** Stores holding a slot, by id: approved and not ended, or reserved by a decision under way. */
  readonly active: Readonly<Record<string, number>>;
  /** Creations of the last hour (reserved ones included), for the hourly rate. */
  readonly creations: readonly Creation[];
  /** Decisions of the last 24 h, and of every store still active. */
  readonly decisions: Readonly<Record<string, Decision>>;
  /** Stores that ended before their decision was committed, by id. */
  readonly released: Readonly<Record<string, number>>;
}

/** Creations of the last hour from one source address, whoever the owner. */
export interface SourceRecord {
  readonly creations: readonly Creation[];
}

/** Every slot held on the platform, by store id: at most platformMaxActiveStores. */
export interface PlatformRecord {
  readonly active: Readonly<Record<string, number>>;
}

export const emptyOwnerRecord: OwnerRecord = { active: {}, creations: [], decisions: {}, released: {} };
export const emptySourceRecord: SourceRecord = { creations: [] };
export const emptyPlatformRecord: PlatformRecord = { active: {} };

export type QuotaCommand = Pick<CreateStoreCommand, 'storeId' | 'owner' | 'requestedBy'>;

/** A record after a change, and what the change found. `record` is the input itself when nothing is to be written. */
export interface Change<R, T> {
  readonly record: R;
  readonly result: T;
}

/** The keys that must no longer count a store, once its owner's record says how it ended. */
export interface Leftovers {
  readonly source: boolean;
  readonly platform: boolean;
}

/** What the owner's record settled for a command: a decision, or a slot reserved while source and platform are asked. */
export type Reservation =
  | { readonly kind: 'decided'; readonly decision: Decision; readonly repeated: boolean; readonly leftovers: Leftovers }
  | { readonly kind: 'reserved'; readonly at: number };

export interface Conclusion {
  readonly decision: Decision;
  readonly repeated: boolean;
  readonly leftovers: Leftovers;
}

/** What a Deleted or Failed event did to the owner's record. */
export type Release = 'freed' | 'recorded-before-decision' | 'unchanged';

export function limitsFor(limits: QuotaLimits, owner: string): OwnerLimits {
  const override = Object.hasOwn(limits.overrides, owner) ? limits.overrides[owner] : undefined;
  return { ...limits.owner, ...override };
}

/**
 * Step 1 of a decision, on the owner's record: answers a command already decided (or ended) as before, rejects
 * one beyond the owner's own limits, or reserves a slot and a creation for it.
 */
export function reserveOwner(
  record: OwnerRecord,
  command: QuotaCommand,
  limits: OwnerLimits,
  now: Date,
): Change<OwnerRecord, Reservation> {
  const { storeId } = command;
  const previous = record.decisions[storeId];
  if (previous) return { record, result: { kind: 'decided', repeated: true, ...answer(record, storeId, previous) } };
  const reservedAt = record.active[storeId];
  if (reservedAt !== undefined && record.released[storeId] === undefined) {
    return { record, result: { kind: 'reserved', at: reservedAt } };
  }

  const at = now.getTime();
  const current = pruneOwner(record, at);
  if (current.released[storeId] !== undefined) return decided(commit(current, storeId, { outcome: 'withdrawn', at }));

  const held = Object.keys(current.active).length;
  if (held >= limits.maxActiveStores) {
    const message = `quota: ${held} of ${limits.maxActiveStores} active stores`;
    return decided(commit(current, storeId, { outcome: 'rejected', at, reason: 'QuotaExceeded', message }));
  }
  if (current.creations.length >= limits.maxCreatesPerHour) {
    const retry = retryHint(current.creations, limits.maxCreatesPerHour);
    const message = `rate limit: ${current.creations.length} stores created in the last hour${retry}`;
    return decided(commit(current, storeId, { outcome: 'rejected', at, reason: 'OwnerRateLimited', message }));
  }
  return {
    record: {
      ...current,
      active: { ...current.active, [storeId]: at },
      creations: [...current.creations, { storeId, at }],
    },
    result: { kind: 'reserved', at },
  };
}

/** Step 2: counts the reserved creation against its source address, unless that address is at its hourly limit. */
export function reserveSource(
  record: SourceRecord,
  storeId: string,
  limit: number,
  at: number,
): Change<SourceRecord, Rejection | undefined> {
  if (record.creations.some((creation) => creation.storeId === storeId)) return { record, result: undefined };
  const creations = recentCreations(record.creations, at);
  if (creations.length >= limit) {
    const retry = retryHint(creations, limit);
    return {
      record,
      result: {
        reason: 'SourceRateLimited',
        message: `rate limit: ${creations.length} stores created from your address in the last hour${retry}`,
      },
    };
  }
  return { record: { creations: [...creations, { storeId, at }] }, result: undefined };
}

/** Step 3: takes one of the platform's slots for the store, unless every slot is held. */
export function reservePlatform(
  record: PlatformRecord,
  storeId: string,
  limit: number,
  at: number,
): Change<PlatformRecord, Rejection | undefined> {
  if (record.active[storeId] !== undefined) return { record, result: undefined };
  const total = Object.keys(record.active).length;
  if (total >= limit) {
    return {
      record,
      result: {
        reason: 'PlatformFull',
        message: `platform full: ${total} of ${limit} active stores; try again once a store is deleted`,
      },
    };
  }
  return { record: { active: { ...record.active, [storeId]: at } }, result: undefined };
}

/**
 * Step 4, the commit: records the decision in the owner's record. A decision committed meanwhile (the same command
 * decided by another replica) or an end reported meanwhile wins; the caller then drops the leftovers.
 */
export function concludeOwner(
  record: OwnerRecord,
  storeId: string,
  refusal: Rejection | undefined,
  now: Date,
): Change<OwnerRecord, Conclusion> {
  const previous = record.decisions[storeId];
  if (previous) return { record, result: { repeated: true, ...answer(record, storeId, previous) } };
  const reservedAt = record.active[storeId];
  if (reservedAt === undefined) throw new Error(`store ${storeId} lost its reserved slot before its decision`);
  const at = now.getTime();
  const current = pruneOwner(record, at);
  const decision: Decision =
    current.released[storeId] !== undefined
      ? { outcome: 'withdrawn', at }
      : refusal
        ? { outcome: 'rejected', at, ...refusal }
        : { outcome: 'approved', at: reservedAt };
  const next = commit(current, storeId, decision);
  return { record: next.record, result: { ...next.result, repeated: false } };
}

/** Frees an ended store's slot in its owner's record, or notes the end for a decision not yet committed. */
export function releaseOwner(record: OwnerRecord, storeId: string, now: Date): Change<OwnerRecord, Release> {
  const decision = record.decisions[storeId];
  if (decision) {
    if (decision.outcome !== 'approved' || record.active[storeId] === undefined) return { record, result: 'unchanged' };
    return { record: { ...record, active: without(record.active, storeId) }, result: 'freed' };
  }
  if (record.released[storeId] !== undefined) return { record, result: 'unchanged' };
  const at = now.getTime();
  const current = pruneOwner(record, at);
  const released = capped({ ...current.released, [storeId]: at }, MAX_REMEMBERED_RELEASES, (since) => since);
  return { record: { ...current, released }, result: 'recorded-before-decision' };
}

/** Which other keys must no longer count the store, by what its owner's record says. */
export function leftoversOf(record: OwnerRecord, storeId: string): Leftovers {
  const decision = record.decisions[storeId];
  if (!decision) return { source: false, platform: false };
  if (decision.outcome !== 'approved') return { source: true, platform: true };
  return { source: false, platform: record.active[storeId] === undefined };
}

/** Forgets a store's creation from its source's record (its decision was not an approval). */
export function dropFromSource(record: SourceRecord, storeId: string): Change<SourceRecord, void> {
  if (!record.creations.some((creation) => creation.storeId === storeId)) return { record, result: undefined };
  return {
    record: { creations: record.creations.filter((creation) => creation.storeId !== storeId) },
    result: undefined,
  };
}

/** Gives a store's platform slot back. */
export function dropFromPlatform(record: PlatformRecord, storeId: string): Change<PlatformRecord, void> {
  if (record.active[storeId] === undefined) return { record, result: undefined };
  return { record: { active: without(record.active, storeId) }, result: undefined };
}

/** Drops what no rule needs any more: creations older than an hour, decisions and ends older than a day. */
export function pruneOwner(record: OwnerRecord, at: number): OwnerRecord {
  const recent = (since: number) => at - since < DECISION_RETENTION_MS;
  return {
    active: record.active,
    creations: recentCreations(record.creations, at),
    decisions: Object.fromEntries(
      Object.entries(record.decisions).filter(
        ([id, decision]) => recent(decision.at) || record.active[id] !== undefined,
      ),
    ),
    released: Object.fromEntries(Object.entries(record.released).filter(([, since]) => recent(since))),
  };
}

/** The answer for a decided store: an approval whose store has ended since is `withdrawn`, so nothing is announced. */
function answer(record: OwnerRecord, storeId: string, decision: Decision): Omit<Conclusion, 'repeated'> {
  const gone = decision.outcome === 'approved' && record.active[storeId] === undefined;
  return {
    decision: gone ? { outcome: 'withdrawn', at: decision.at } : decision,
    leftovers: leftoversOf(record, storeId),
  };
}

/** Writes a final decision; a store not approved gives back its reserved slot and creation. */
function commit(
  record: OwnerRecord,
  storeId: string,
  decision: Decision,
): Change<OwnerRecord, Omit<Conclusion, 'repeated'>> {
  const kept = decision.outcome === 'approved';
  const decisions = { ...record.decisions, [storeId]: decision };
  const next: OwnerRecord = {
    active: kept ? record.active : without(record.active, storeId),
    creations: kept ? record.creations : record.creations.filter((creation) => creation.storeId !== storeId),
    decisions: kept ? decisions : capRejections(decisions),
    released: without(record.released, storeId),
  };
  return { record: next, result: { decision, leftovers: leftoversOf(next, storeId) } };
}

function decided(change: Change<OwnerRecord, Omit<Conclusion, 'repeated'>>): Change<OwnerRecord, Reservation> {
  return { record: change.record, result: { kind: 'decided', repeated: false, ...change.result } };
}

function capRejections(decisions: Record<string, Decision>): Record<string, Decision> {
  const kept = Object.entries(decisions).filter(([, decision]) => decision.outcome !== 'approved');
  if (kept.length <= MAX_REMEMBERED_REJECTIONS) return decisions;
  const oldest = kept.sort(([, a], [, b]) => a.at - b.at).slice(0, kept.length - MAX_REMEMBERED_REJECTIONS);
  return without(decisions, ...oldest.map(([id]) => id));
}

function capped<T>(record: Record<string, T>, max: number, at: (value: T) => number): Record<string, T> {
  const entries = Object.entries(record);
  if (entries.length <= max) return record;
  return Object.fromEntries(entries.sort(([, a], [, b]) => at(a) - at(b)).slice(entries.length - max));
}

function recentCreations(creations: readonly Creation[], at: number): Creation[] {
  return creations.filter((creation) => at - creation.at < HOUR_MS);
}

/** When enough of these creations have aged out of the hour for one more to fit, rounded up to the minute. */
function retryHint(creations: readonly Creation[], max: number): string {
  const times = creations.map((creation) => creation.at).sort((a, b) => a - b);
  const freeing = times[times.length - max];
  if (freeing === undefined) return '';
  const minute = 60 * 1000;
  const retryAt = new Date(Math.ceil((freeing + HOUR_MS) / minute) * minute);
  return `; try again after ${retryAt.toISOString().slice(11, 16)} UTC`;
}

function without<T>(record: Readonly<Record<string, T>>, ...keys: string[]): Record<string, T> {
  const dropped = new Set(keys);
  return Object.fromEntries(Object.entries(record).filter(([key]) => !dropped.has(key)));
}

/** The gateway's rate limiter counts by the same key: one source per IPv4 address or IPv6 /64, "unknown" for none. */
export function sourceOf(command: QuotaCommand): string {
  return sourceKey(command.requestedBy?.sourceIp);
}
