import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { Step, Store, timestampDate, timestampFromDate } from '@urumi/contracts';
import { untilAnswered } from '@urumi/messaging';
import { setTimeout as sleep } from 'node:timers/promises';
import { KnownStore, StoreChange, StoreRepository, StoreWatch } from './store.repository';

/** Who is asking: tenants see their own stores, admins see all. */
export interface Viewer {
  readonly name: string;
  readonly role: 'admin' | 'tenant';
}

export type StoreListener = (change: StoreChange) => void;

export interface ListOptions {
  readonly step?: Step;
  readonly limit?: number;
  /** A `next` cursor of an earlier page. */
  readonly after?: string;
}

export interface StorePage {
  readonly items: Store[];
  readonly next?: string;
}

export function canSee(viewer: Viewer, store: Store): boolean {
  return viewer.role === 'admin' || store.owner === viewer.name;
}

/** A Ready store whose workload is not all available: its Degraded condition is True. */
export function isDegraded(store: Store): boolean {
  return store.step === Step.READY && store.conditions.some((c) => c.type === 'Degraded' && c.status === 'True');
}

const FIRST_RETRY_MS = 250;
const LAST_RETRY_MS = 10_000;
/** How long a read waits for this replica to catch up with the bucket before it is answered 503. */
const SYNC_TIMEOUT_MS = 5_000;

/** This replica could not confirm that it shows every write made so far (NATS did not answer, or the watch lags). */
export class ReadModelBehindError extends Error {
  override readonly name = 'ReadModelBehindError';
  constructor(cause?: unknown) {
    super('this gateway could not confirm its view of the stores is current (event bus not answering); retry shortly', {
      cause,
    });
  }
}

interface Waiter {
  readonly revision: number;
  readonly resolve: () => void;
}

/**
 * Every store, held in memory and kept current by watching the read-model bucket: list and get never
 * touch NATS or Kubernetes, and each change is fanned out to the live-status listeners. When the watch
 * ends (the server stopped it, the bucket went away), it is started again with backoff, and the read
 * model is not ready until the new watch has caught up.
 *
 * Replicas read their own writes and each other's: `sync` waits until this replica shows every write the bucket
 * held when it was called, so a store created through one replica is found by the next request to another.
 */
@Injectable()
export class ReadModel implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(ReadModel.name);
  private stores = new Map<string, KnownStore>();
  /** While a watch catches up: what it has delivered so far, the bucket as it is now (null: removed). */
  private replay: Map<string, KnownStore | null> | undefined = new Map();
  private readonly listeners = new Set<StoreListener>();
  /** Every store, newest first: rebuilt on the first read after a change, since reads far outnumber changes. */
  private newestFirst?: Store[];
  private watch?: StoreWatch;
  private readonly stopping = new AbortController();
  /** The newest bucket revision the watch has delivered. */
  private delivered = 0;
  /** Reads waiting for the watch to deliver a revision. */
  private waiters: Waiter[] = [];
  /** The request for the bucket's newest revision in flight, and the one the reads after it share. */
  private asking?: Promise<number>;
  private askingNext?: Promise<number>;

  constructor(private readonly repository: StoreRepository) {}

  async onModuleInit(): Promise<void> {
    this.watch = await untilAnswered(
      'watch the stores bucket',
      () => this.repository.watch(this.fromWatch),
      this.logger,
    );
    void this.follow(this.watch);
  }

  onModuleDestroy(): void {
    this.stopping.abort();
    this.watch?.stop();
  }

  /** Ready once the watch has caught up with the bucket, and for as long as it runs. */
  isReady(): boolean {
    return this.replay === undefined;
  }

  /**
   * Resolves once this replica shows every write the bucket held when it was called (its own, and any other
   * replica's): call it before a read that must not be stale. Reads that arrive together share one request for
   * the bucket's newest revision. Throws ReadModelBehindError when that cannot be confirmed within seconds.
   */
  async sync(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    let waiter: Waiter | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ReadModelBehindError()), SYNC_TIMEOUT_MS);
    });
    const caughtUp = async () => {
      const revision = await this.newestRevision();
      if (this.isReady() && this.delivered >= revision) return;
      await new Promise<void>((resolve) => {
        waiter = { revision, resolve };
        this.waiters.push(waiter);
      });
    };
    try {
      await Promise.race([caughtUp(), late]);
    } catch (error) {
      throw error instanceof ReadModelBehindError ? error : new ReadModelBehindError(error);
    } finally {
      clearTimeout(timer);
      if (waiter) this.waiters = this.waiters.filter((w) => w !== waiter);
    }
  }

  /**
   * The stores `viewer` may see, newest first, `limit` at a time. `after` is the `next` cursor of the
   * previous page: it names a position in the order (creation time and id), so the page after it is
   * the same whether or not that store still exists.
   */
  list(viewer: Viewer, { step, limit = Number.MAX_SAFE_INTEGER, after }: ListOptions = {}): StorePage {
    const from = after === undefined ? undefined : parseCursor(after);
    const visible = this.all().filter(
      (store) =>
        canSee(viewer, store) &&
        (step === undefined || store.step === step) &&
        (from === undefined || newestFirst(from, store) < 0),
    );
    const items = visible.slice(0, limit);
    const last = items[items.length - 1];
    return limit < visible.length && last ? { items, next: cursorOf(last) } : { items };
  }

  /** Every store, newest first: the platform's own figures (metrics, the platform page). */
  all(): readonly Store[] {
    this.newestFirst ??= [...this.stores.values()].map(({ store }) => store).sort(newestFirst);
    return this.newestFirst;
  }

  /** The store, when it exists and `viewer` may see it: another tenant's store does not exist for you. */
  get(viewer: Viewer, id: string): Store | undefined {
    const store = this.stores.get(id)?.store;
    return store && canSee(viewer, store) ? store : undefined;
  }

  /** Whether the read model holds the store at all, whoever owns it. */
  has(id: string): boolean {
    return this.stores.has(id);
  }

  /** The store and its bucket revision as this replica last saw them, whoever owns it. */
  known(id: string): KnownStore | undefined {
    return this.stores.get(id);
  }

  /**
   * Applies a change this replica wrote itself at once, ahead of the bucket's watch delivering it. A
   * change older than what is known (by bucket revision) is ignored.
   */
  accept(change: StoreChange): void {
    if (this.replay) record(this.replay, change);
    this.show(change);
  }

  subscribe(listener: StoreListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private readonly fromWatch = (change: StoreChange): void => {
    this.delivered = Math.max(this.delivered, change.revision);
    if (this.replay) record(this.replay, change);
    else {
      this.show(change);
      this.wake();
    }
  };

  /**
   * The bucket's newest revision, asked after the caller arrived: a request already in flight may have been
   * answered by the server before then, so later callers share the next one.
   */
  private newestRevision(): Promise<number> {
    if (!this.asking) return (this.asking = this.ask());
    this.askingNext ??= this.asking
      .catch(() => undefined)
      .then(() => {
        this.askingNext = undefined;
        return (this.asking = this.ask());
      });
    return this.askingNext;
  }

  private ask(): Promise<number> {
    const asked = this.repository.lastRevision();
    const done = () => {
      if (this.asking === asked) this.asking = undefined;
    };
    asked.then(done, done);
    return asked;
  }

  /** Lets go the reads whose revision the watch has delivered, once what it delivered is shown. */
  private wake(): void {
    if (!this.isReady() || this.waiters.length === 0) return;
    const waiting: Waiter[] = [];
    for (const waiter of this.waiters) {
      if (waiter.revision <= this.delivered) waiter.resolve();
      else waiting.push(waiter);
    }
    this.waiters = waiting;
  }

  private show(change: StoreChange): void {
    const known = this.stores.get(change.id);
    if (known && known.revision >= change.revision) return;
    if (change.store) this.stores.set(change.id, { store: change.store, revision: change.revision });
    else if (!this.stores.delete(change.id)) return;
    this.newestFirst = undefined;
    const delivered = known ? { ...change, previous: known.store } : change;
    for (const listener of this.listeners) listener(delivered);
  }

  /** Keeps a watch's replay until it caught up, then makes it what is shown, and restarts the watch when it ends. */
  private async follow(first: StoreWatch): Promise<void> {
    let watch = first;
    let retryMs = FIRST_RETRY_MS;
    for (;;) {
      const caughtUp = await Promise.race([watch.caughtUp.then(() => true), watch.ended.then(() => false)]);
      if (caughtUp) {
        this.finishReplay();
        this.wake();
        retryMs = FIRST_RETRY_MS;
      }
      const reason = await watch.ended;
      if (this.stopping.signal.aborted) return;
      this.replay = new Map();
      this.logger.warn({ msg: 'Read-model watch ended; restarting it', error: String(reason) });
      for (;;) {
        try {
          await sleep(retryMs, undefined, { signal: this.stopping.signal });
        } catch {
          return;
        }
        retryMs = Math.min(retryMs * 2, LAST_RETRY_MS);
        try {
          watch = await this.repository.watch(this.fromWatch);
          this.watch = watch;
          break;
        } catch (error) {
          this.logger.warn({ msg: 'Could not restart the read-model watch', retryInMs: retryMs, error: String(error) });
        }
      }
    }
  }

  /** The bucket as the watch found it replaces what was shown: stores removed meanwhile go, the rest update. */
  private finishReplay(): void {
    const replay = this.replay ?? new Map<string, KnownStore | null>();
    this.replay = undefined;
    for (const id of [...this.stores.keys()]) {
      if (!replay.get(id)) this.remove(id);
    }
    for (const [id, known] of replay) {
      if (known && this.stores.get(id)?.revision !== known.revision) this.replace(id, known);
    }
  }

  private remove(id: string): void {
    const known = this.stores.get(id);
    if (!known) return;
    this.stores.delete(id);
    this.newestFirst = undefined;
    for (const listener of this.listeners)
      listener({ id, store: undefined, revision: known.revision, previous: known.store });
  }

  private replace(id: string, known: KnownStore): void {
    const previous = this.stores.get(id);
    this.stores.set(id, known);
    this.newestFirst = undefined;
    const change = { id, store: known.store, revision: known.revision };
    for (const listener of this.listeners) listener(previous ? { ...change, previous: previous.store } : change);
  }
}

function record(replay: Map<string, KnownStore | null>, change: StoreChange): void {
  const known = replay.get(change.id);
  if (known && known.revision >= change.revision) return;
  replay.set(change.id, change.store ? { store: change.store, revision: change.revision } : null);
}

/** Newest first, then by id: the order of every list, and what a cursor points into. */
function newestFirst(a: Pick<Store, 'createdAt' | 'id'>, b: Pick<Store, 'createdAt' | 'id'>): number {
  return createdAt(b) - createdAt(a) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** A page cursor: the creation time and id of the last store of the page, opaque to clients. */
export function cursorOf(store: Store): string {
  return Buffer.from(JSON.stringify([createdAt(store), store.id])).toString('base64url');
}

/** The position a cursor names; undefined when it is not one this gateway made. */
export function parseCursor(cursor: string): Pick<Store, 'createdAt' | 'id'> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (!Array.isArray(value) || value.length !== 2) return undefined;
    const [at, id] = value as unknown[];
    if (typeof at !== 'number' || !Number.isSafeInteger(at) || typeof id !== 'string') return undefined;
    return { createdAt: timestampFromDate(new Date(at)), id };
  } catch {
    return undefined;
  }
}

function createdAt(store: Pick<Store, 'createdAt'>): number {
  return store.createdAt ? timestampDate(store.createdAt).getTime() : 0;
}
