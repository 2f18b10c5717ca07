import { Logger } from '@nestjs/common';
import { buckets, decode, encode, Store, StoreSchema } from '@urumi/contracts';
import { isRevisionConflict, KeyValueBuckets } from '@urumi/messaging';
import { KV, KvEntry } from 'nats';
import { project, Projection, StoreEvent } from './projection';

export interface StoreChange {
  readonly id: string;
  /** Undefined when the store was removed. */
  readonly store: Store | undefined;
  /** The bucket's revision of this version: a change at or below a revision already seen is older news. */
  readonly revision: number;
  /** What the reader knew before, when it knew anything (set by the read model). */
  readonly previous?: Store;
}

/** A running watch of the read-model bucket. */
export interface StoreWatch {
  /** Resolves once every store the bucket held when the watch started has been delivered. */
  readonly caughtUp: Promise<void>;
  /** Resolves when the watch stops, with the reason when the server ended it. */
  readonly ended: Promise<unknown>;
  stop(): void;
}

/** Who holds a name. */
interface NameHolder {
  readonly storeId: string;
}

export interface StoreRepositoryOptions {
  readonly storesBucket: string;
  readonly namesBucket: string;
}

export const defaultStoreRepositoryOptions: StoreRepositoryOptions = {
  storesBucket: buckets.stores,
  namesBucket: buckets.storeNames,
};

/** A store as the bucket held it at `revision`. */
export interface KnownStore {
  readonly store: Store;
  readonly revision: number;
}

/** What the bucket holds for a store id: a store, nothing yet (revision 0), or the marker of a removed one. */
type Current = { readonly store: Store | undefined; readonly revision: number } | typeof REMOVED;
const ABSENT: Current = { store: undefined, revision: 0 };
const REMOVED = 'removed';

function currentOf(entry: KvEntry | null): Current {
  if (!entry) return ABSENT;
  return entry.operation === 'PUT' ? { store: decodeStore(entry), revision: entry.revision } : REMOVED;
}

const MAX_ATTEMPTS = 20;
const ABANDONED_RESERVATION_MS = 60_000;
const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

function decodeStore(entry: KvEntry): Store {
  return decode(StoreSchema, JSON.parse(textDecoder.decode(entry.value)));
}

/** A reservation: JSON, or (as written before reservations were JSON) the bare store id. */
function nameHolderOf(entry: KvEntry): NameHolder | undefined {
  const text = textDecoder.decode(entry.value);
  if (!text.startsWith('{')) return text ? { storeId: text } : undefined;
  const value = JSON.parse(text) as Partial<NameHolder>;
  return typeof value.storeId === 'string' ? { storeId: value.storeId } : undefined;
}

/**
 * The read model in JetStream KV: store id → Store, and store name → id (a name is held by one store
 * at a time, platform-wide, because it becomes a namespace and a host name). Writes are compare-and-set.
 */
export class StoreRepository {
  private readonly logger = new Logger(StoreRepository.name);

  private constructor(
    private readonly stores: KV,
    private readonly names: KV,
  ) {}

  /** Opens (or creates) both buckets: at start-up, where a JetStream that does not answer is waited for. */
  static async open(
    buckets: KeyValueBuckets,
    options: StoreRepositoryOptions = defaultStoreRepositoryOptions,
  ): Promise<StoreRepository> {
    const [stores, names] = await Promise.all([buckets.open(options.storesBucket), buckets.open(options.namesBucket)]);
    return new StoreRepository(stores, names);
  }

  async get(id: string): Promise<Store | undefined> {
    const found = await this.lookup(id);
    return found === 'removed' ? undefined : found;
  }

  /** Store `id` as the bucket holds it now, `'removed'` once it has been deleted, undefined if it never was. */
  async lookup(id: string): Promise<Store | 'removed' | undefined> {
    const entry = await this.stores.get(id);
    if (!entry) return undefined;
    return entry.operation === 'PUT' ? decodeStore(entry) : 'removed';
  }

  /** The bucket's newest revision: a watch that has delivered it has seen every write made so far. */
  async lastRevision(): Promise<number> {
    const status = await this.stores.status();
    return status.streamInfo.state.last_seq;
  }

  /**
   * Applies an event with compare-and-set, re-reading on a concurrent write; a removed store stays
   * removed. A put comes back with the bucket revision it was written at. The first write goes on `known` (the
   * store as the caller last saw it, at its revision; none for a create's new store) without reading the bucket:
   * if anyone wrote since, it conflicts and the store is read.
   */
  async apply(
    id: string,
    event: StoreEvent,
    known?: KnownStore,
  ): Promise<{ projection: Projection; revision?: number }> {
    const kv = this.stores;
    let current: Current | undefined = known ?? (event.kind === 'create' ? ABSENT : undefined);
    for (let attempt = 1; ; attempt++) {
      current ??= currentOf(await kv.get(id));
      if (current === REMOVED) return { projection: { action: 'keep' } };
      const { store, revision } = current;
      const projection = project(store, event);
      try {
        if (projection.action === 'put') {
          const value = textEncoder.encode(JSON.stringify(encode(StoreSchema, projection.store)));
          return { projection, revision: revision ? await kv.update(id, value, revision) : await kv.create(id, value) };
        }
        if (projection.action === 'remove' && revision) await kv.delete(id, { previousSeq: revision });
        return { projection };
      } catch (error) {
        if (!isRevisionConflict(error) || attempt >= MAX_ATTEMPTS) throw error;
        current = undefined;
      }
    }
  }

  /**
   * Takes `name` for store `id`; false when another store holds it. It holds already when an earlier run of
   * the same idempotent request reserved it for this id. A reservation older than a minute whose holder
   * `isAbandoned` (its request died between reserving and publishing) is taken over.
   */
  async reserveName(name: string, id: string, isAbandoned: (holderId: string) => boolean): Promise<boolean> {
    const kv = this.names;
    const value = textEncoder.encode(JSON.stringify({ storeId: id } satisfies NameHolder));
    try {
      await kv.create(name, value);
      return true;
    } catch (error) {
      if (!isRevisionConflict(error)) throw error;
    }
    const entry = await kv.get(name);
    const holder = entry?.operation === 'PUT' ? nameHolderOf(entry) : undefined;
    if (!entry || !holder) return false;
    if (holder.storeId === id) return true;
    const stale = Date.now() - entry.created.getTime() > ABANDONED_RESERVATION_MS;
    if (!stale || !isAbandoned(holder.storeId)) return false;
    try {
      await kv.update(name, value, entry.revision);
      return true;
    } catch (error) {
      if (!isRevisionConflict(error)) throw error;
      return false;
    }
  }

  /** Frees `name` if store `id` still holds it. */
  async releaseName(name: string, id: string): Promise<void> {
    const kv = this.names;
    const entry = await kv.get(name);
    if (entry?.operation !== 'PUT' || nameHolderOf(entry)?.storeId !== id) return;
    try {
      await kv.delete(name, { previousSeq: entry.revision });
    } catch (error) {
      if (!isRevisionConflict(error)) throw error;
    }
  }

  /** Delivers every current store, then every change, to `onChange`, until the caller stops the watch or it ends. */
  async watch(onChange: (change: StoreChange) => void): Promise<StoreWatch> {
    let delivered = 0;
    /** How many deliveries make up the stores present at the start, once the client has said. */
    let initialCount: number | undefined;
    let caughtUp!: () => void;
    const caughtUpPromise = new Promise<void>((resolve) => (caughtUp = resolve));
    const check = () => {
      if (initialCount !== undefined && delivered >= initialCount) caughtUp();
    };
    let started = false;
    let queuedBeforeStart = false;
    const watcher = await this.stores.watch({
      // Called in the iterator's order after the initial entries, or at once (before `watch` returns)
      // when they have all been queued already.
      initializedFn: () => {
        if (!started) {
          queuedBeforeStart = true;
          return;
        }
        initialCount = delivered;
        check();
      },
    });
    started = true;
    if (queuedBeforeStart) initialCount = watcher.getReceived();
    check();
    const ended = (async (): Promise<unknown> => {
      try {
        for await (const entry of watcher) {
          delivered++;
          this.deliver(entry, onChange);
          check();
        }
        return undefined;
      } catch (error) {
        return error;
      }
    })();
    return { caughtUp: caughtUpPromise, ended, stop: () => watcher.stop() };
  }

  private deliver(entry: KvEntry, onChange: (change: StoreChange) => void): void {
    try {
      onChange({
        id: entry.key,
        store: entry.operation === 'PUT' ? decodeStore(entry) : undefined,
        revision: entry.revision,
      });
    } catch (error) {
      this.logger.error({ msg: 'Skipped an unreadable read-model entry', key: entry.key, error: String(error) });
    }
  }
}
