import { Step } from './gen/urumi/store/v1/store_pb';
import { stepSlug } from './steps';

/** NATS subjects, streams and key-value buckets: the names every service agrees on. */
export const subjects = {
  /** gateway → quota */
  createStore: 'store.cmd.create',
  /** gateway → cleanup */
  deleteStore: 'store.cmd.delete',
  commands: 'store.cmd.>',
  /** Every status change, one subject per step: `store.status.approved`, `store.status.ready`, … */
  status: (step: Step) => `store.status.${stepSlug(step)}`,
  allStatus: 'store.status.>',
  audit: (action: string) => `audit.${action}`,
} as const;

const MINUTE_MS = 60_000;
const DAY_MS = 24 * 60 * MINUTE_MS;

/**
 * STORES carries commands and status events; a republish with the same msgId within an hour (a
 * service retrying after a crash) is dropped. It keeps a week: every consumer has acted on a message long
 * before, and a store's current state lives in the `stores` KV read model (and the cluster), not in the
 * stream, so nothing is lost when old messages go. AUDIT keeps a year of who-did-what.
 */
export const streams = {
  stores: { name: 'STORES', subjects: ['store.>'], duplicateWindowMs: 60 * MINUTE_MS, maxAgeMs: 7 * DAY_MS },
  audit: { name: 'AUDIT', subjects: ['audit.>'], duplicateWindowMs: 2 * MINUTE_MS, maxAgeMs: 365 * DAY_MS },
} as const;

export const buckets = {
  /** store id → Store (the read model) */
  stores: 'stores',
  /** store name → store id, so a name is taken once across the platform */
  storeNames: 'store-names',
  /** the quota ledger */
  quota: 'quota',
  /** Idempotency-Key → the first answer */
  idempotency: 'idempotency',
  /** rate-limit counters shared by gateway replicas */
  rateLimits: 'rate-limits',
  /** store id → provisioning | withdrawn: settles a delete that overtakes its store's provisioning */
  storeLifecycle: 'store-lifecycle',
} as const;
