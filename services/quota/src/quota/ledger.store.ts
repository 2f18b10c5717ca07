import { isRevisionConflict, KeyValueBuckets } from '@urumi/messaging';
import { KV, KvEntry } from 'nats';
import { emptyLedger, Ledger } from './ledger';

const LEDGER_KEY = 'ledger';

export interface LedgerChange<T> {
  /** The input ledger itself when nothing changes: nothing is written then. */
  readonly ledger: Ledger;
  readonly result: T;
}

export interface LedgerStoreOptions {
  /** Compare-and-set attempts before giving up (the message is then redelivered). */
  readonly maxAttempts: number;
}

export class LedgerContentionError extends Error {
  override readonly name = 'LedgerContentionError';
}

/**
 * The quota ledger in one JetStream KV key, changed only by compare-and-set: every replica reads the
 * ledger with its revision, decides, and writes only if nobody wrote in between; otherwise it reads
 * again and decides again. One instance runs one change at a time, so replicas only race each other.
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

  async read(): Promise<Ledger> {
    return parseLedger(await this.kv.get(LEDGER_KEY));
  }

  update<T>(change: (ledger: Ledger) => LedgerChange<T>): Promise<T> {
    const run = this.queue.then(() => this.compareAndSet(change));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async compareAndSet<T>(change: (ledger: Ledger) => LedgerChange<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const entry = await this.kv.get(LEDGER_KEY);
      const current = parseLedger(entry);
      const { ledger, result } = change(current);
      if (ledger === current) return result;
      const data = JSON.stringify(ledger);
      try {
        if (entry) await this.kv.update(LEDGER_KEY, data, entry.revision);
        else await this.kv.create(LEDGER_KEY, data);
        return result;
      } catch (error) {
        if (!isRevisionConflict(error)) throw error;
        if (attempt >= this.options.maxAttempts) {
          throw new LedgerContentionError(`the quota ledger changed under us ${attempt} times in a row`);
        }
        await backOff(attempt);
      }
    }
  }
}

function parseLedger(entry: KvEntry | null): Ledger {
  if (!entry || entry.operation !== 'PUT' || entry.length === 0) return emptyLedger;
  const value: unknown = JSON.parse(entry.string());
  if (typeof value !== 'object' || value === null) throw new Error('the quota ledger is not a JSON object');
  const stored = value as Partial<Ledger>;
  return {
    active: stored.active ?? {},
    creations: stored.creations ?? [],
    decisions: stored.decisions ?? {},
    released: stored.released ?? {},
  };
}

/** Jittered, so replicas that collided do not collide again in lockstep. */
function backOff(attempt: number): Promise<void> {
  const ceilingMs = Math.min(2 ** attempt, 50);
  return new Promise((resolve) => setTimeout(resolve, Math.random() * ceilingMs));
}
