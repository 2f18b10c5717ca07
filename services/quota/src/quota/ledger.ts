import { CreateStoreCommand } from '@urumi/contracts';

export const HOUR_MS = 60 * 60 * 1000;
/** How long a decision is remembered, so a late redelivery of its command gets the same answer. */
export const DECISION_RETENTION_MS = 24 * HOUR_MS;
/**
 * Rejections beyond the most recent ones are forgotten early, so a flood of refused requests cannot grow
 * the ledger past what one KV value may hold (about 120 bytes each; NATS's default max_payload is 1 MB).
 */
export const MAX_REMEMBERED_REJECTIONS = 2_000;

export type RejectionReason = 'QuotaExceeded' | 'OwnerRateLimited' | 'SourceRateLimited' | 'PlatformFull';

/** `withdrawn`: the store was deleted before (or since) it was approved, so there is nothing to announce. */
export type Decision =
  | { readonly outcome: 'approved'; readonly at: number }
  | { readonly outcome: 'rejected'; readonly at: number; readonly reason: RejectionReason; readonly message: string }
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

export interface Slot {
  readonly owner: string;
  readonly at: number;
}

export interface Creation {
  readonly storeId: string;
  readonly owner: string;
  /** Empty when the command did not say where it came from. */
  readonly source: string;
  readonly at: number;
}

/** The quota state every replica shares. Times are epoch milliseconds, so it stays plain JSON. */
export interface Ledger {
  /** Approved stores that are neither deleted nor failed, by store id. */
  readonly active: Readonly<Record<string, Slot>>;
  /** Approvals of the last hour, for the rate limits. */
  readonly creations: readonly Creation[];
  /** Decisions of the last 24 h, by store id. */
  readonly decisions: Readonly<Record<string, Decision>>;
  /** Stores deleted before their create command was decided, by store id. */
  readonly released: Readonly<Record<string, number>>;
}

export const emptyLedger: Ledger = { active: {}, creations: [], decisions: {}, released: {} };

export type QuotaCommand = Pick<CreateStoreCommand, 'storeId' | 'owner' | 'requestedBy'>;

export interface Verdict {
  /** The same object as the input when the decision was already made: there is nothing to write. */
  readonly ledger: Ledger;
  readonly decision: Decision;
}

export function limitsFor(limits: QuotaLimits, owner: string): OwnerLimits {
  const override = Object.hasOwn(limits.overrides, owner) ? limits.overrides[owner] : undefined;
  return { ...limits.owner, ...override };
}

/** Decides a create command against the ledger. Pure: the caller stores the returned ledger by compare-and-set. */
export function decide(ledger: Ledger, command: QuotaCommand, limits: QuotaLimits, now: Date): Verdict {
  const { storeId } = command;
  const previous = ledger.decisions[storeId];
  if (previous) {
    const gone = previous.outcome === 'approved' && !ledger.active[storeId];
    return { ledger, decision: gone ? { outcome: 'withdrawn', at: previous.at } : previous };
  }
  const slot = ledger.active[storeId];
  if (slot) return { ledger, decision: { outcome: 'approved', at: slot.at } };

  const at = now.getTime();
  const current = prune(ledger, at);
  if (current.released[storeId] !== undefined) {
    const decision: Decision = { outcome: 'withdrawn', at };
    const released = without(current.released, storeId);
    return { ledger: { ...current, released, decisions: remember(current.decisions, storeId, decision) }, decision };
  }

  const rejection = findRejection(current, command, limits);
  if (rejection) {
    const decision: Decision = { outcome: 'rejected', at, ...rejection };
    return { ledger: { ...current, decisions: remember(current.decisions, storeId, decision) }, decision };
  }

  const decision: Decision = { outcome: 'approved', at };
  const creation: Creation = { storeId, owner: command.owner, source: sourceOf(command), at };
  return {
    ledger: {
      ...current,
      active: { ...current.active, [storeId]: { owner: command.owner, at } },
      creations: [...current.creations, creation],
      decisions: remember(current.decisions, storeId, decision),
    },
    decision,
  };
}

/** Frees a store's slot once it is deleted or failed. Returns the input itself when nothing changes. */
export function release(ledger: Ledger, storeId: string, now: Date): Ledger {
  const at = now.getTime();
  if (ledger.active[storeId]) {
    return prune({ ...ledger, active: without(ledger.active, storeId) }, at);
  }
  if (ledger.decisions[storeId] || ledger.released[storeId] !== undefined) return ledger;
  return prune({ ...ledger, released: { ...ledger.released, [storeId]: at } }, at);
}

/** Drops what no rule needs any more: creations older than an hour, decisions and releases older than a day. */
export function prune(ledger: Ledger, at: number): Ledger {
  const recent = (since: number) => at - since < DECISION_RETENTION_MS;
  return {
    active: ledger.active,
    creations: ledger.creations.filter((creation) => at - creation.at < HOUR_MS),
    decisions: Object.fromEntries(Object.entries(ledger.decisions).filter(([, decision]) => recent(decision.at))),
    released: Object.fromEntries(Object.entries(ledger.released).filter(([, since]) => recent(since))),
  };
}

function remember(decisions: Ledger['decisions'], storeId: string, decision: Decision): Record<string, Decision> {
  const result = { ...decisions, [storeId]: decision };
  const rejections = Object.entries(result).filter(([, kept]) => kept.outcome === 'rejected');
  const excess = rejections.length - MAX_REMEMBERED_REJECTIONS;
  if (excess <= 0) return result;
  const oldest = rejections.sort(([, a], [, b]) => a.at - b.at).slice(0, excess);
  return without(result, ...oldest.map(([id]) => id));
}

function findRejection(
  ledger: Ledger,
  command: QuotaCommand,
  limits: QuotaLimits,
): { reason: RejectionReason; message: string } | undefined {
  const { owner } = command;
  const own = limitsFor(limits, owner);

  const held = Object.values(ledger.active).filter((slot) => slot.owner === owner).length;
  if (held >= own.maxActiveStores) {
    return { reason: 'QuotaExceeded', message: `quota: ${held} of ${own.maxActiveStores} active stores` };
  }

  const byOwner = ledger.creations.filter((creation) => creation.owner === owner);
  if (byOwner.length >= own.maxCreatesPerHour) {
    const retry = retryHint(byOwner, own.maxCreatesPerHour);
    return {
      reason: 'OwnerRateLimited',
      message: `rate limit: ${byOwner.length} stores created in the last hour${retry}`,
    };
  }

  const source = sourceOf(command);
  const bySource = source ? ledger.creations.filter((creation) => creation.source === source) : [];
  if (source && bySource.length >= own.maxCreatesPerSourcePerHour) {
    const retry = retryHint(bySource, own.maxCreatesPerSourcePerHour);
    return {
      reason: 'SourceRateLimited',
      message: `rate limit: ${bySource.length} stores created from your address in the last hour${retry}`,
    };
  }

  const total = Object.keys(ledger.active).length;
  if (total >= limits.platformMaxActiveStores) {
    return {
      reason: 'PlatformFull',
      message: `platform full: ${total} of ${limits.platformMaxActiveStores} active stores; try again once a store is deleted`,
    };
  }
  return undefined;
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

function sourceOf(command: QuotaCommand): string {
  return command.requestedBy?.sourceIp.trim() ?? '';
}
