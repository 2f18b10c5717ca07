import { Logger, OnModuleDestroy } from '@nestjs/common';
import { buckets, decode, encode, Store, StoreSchema } from '@urumi/contracts';
import { isRevisionConflict, KeyValueBuckets } from '@urumi/messaging';
import { KV, KvEntry, QueuedIterator } from 'nats';
import { project, Projection, StoreEvent } from './projection';

export interface StoreChange {
  readonly id: string;
  /** Undefined when the store was removed. */
  readonly store: Store | undefined;
  /** What the reader knew before, when it knew anything (set by the read model). */
  readonly previous?: Store;
}

export interface WatchHandlers {
  readonly onChange: (change: StoreChange) => void;
  readonly onInitialized: () => void;
}

export interface StoreRepositoryOptions {
  readonly storesBucket: string;
  readonly namesBucket: string;
}

export const defaultStoreRepositoryOptions: StoreRepositoryOptions = {
  storesBucket: buckets.stores,
  namesBucket: buckets.storeNames,
};

const MAX_ATTEMPTS = 20;
const ABANDONED_RESERVATION_MS = 60_000;
const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

function decodeStore(entry: KvEntry): Store {
  return decode(StoreSchema, JSON.parse(textDecoder.decode(entry.value)));
}

/**
 * The read model in JetStream KV: store id → Store, and store name → id (a name is held by one store
 * at a time, platform-wide, because it becomes a namespace and a host name). Writes are compare-and-set.
 */
export class StoreRepository implements OnModuleDestroy {
  private readonly logger = new Logger(StoreRepository.name);
  private stores?: Promise<KV>;
  private names?: Promise<KV>;
  private readonly watchers = new Set<QueuedIterator<KvEntry>>();

  constructor(
    private readonly buckets: KeyValueBuckets,
    private readonly options: StoreRepositoryOptions = defaultStoreRepositoryOptions,
  ) {}

  private storesKv(): Promise<KV> {
    this.stores ??= this.buckets.open(this.options.storesBucket);
    return this.stores;
  }

  private namesKv(): Promise<KV> {
    this.names ??= this.buckets.open(this.options.namesBucket);
    return this.names;
  }

  async get(id: string): Promise<Store | undefined> {
    const entry = await (await this.storesKv()).get(id);
    return entry?.operation === 'PUT' ? decodeStore(entry) : undefined;
  }

  /** Applies an event with compare-and-set, re-reading on a concurrent write; a removed store stays removed. */
  async apply(id: string, event: StoreEvent): Promise<Projection> {
    const kv = await this.storesKv();
    for (let attempt = 1; ; attempt++) {
      const entry = await kv.get(id);
      if (entry && entry.operation !== 'PUT') return { action: 'keep' };
      const projection = project(entry ? decodeStore(entry) : undefined, event);
      try {
        if (projection.action === 'put') {
          const value = textEncoder.encode(JSON.stringify(encode(StoreSchema, projection.store)));
          if (entry) await kv.update(id, value, entry.revision);
          else await kv.create(id, value);
        } else if (projection.action === 'remove' && entry) {
          await kv.delete(id, { previousSeq: entry.revision });
        }
        return projection;
      } catch (error) {
        if (!isRevisionConflict(error) || attempt >= MAX_ATTEMPTS) throw error;
      }
    }
  }

  /**
   * Takes `name` for store `id`; false when another store holds it. A reservation older than a minute
   * whose holder `isAbandoned` (its request died between reserving and publishing) is taken over.
   */
  async reserveName(name: string, id: string, isAbandoned: (holderId: string) => boolean): Promise<boolean> {
    const kv = await this.namesKv();
    try {
      await kv.create(name, textEncoder.encode(id));
      return true;
    } catch (error) {
      if (!isRevisionConflict(error)) throw error;
    }
    const entry = await kv.get(name);
    const holder = entry?.operation === 'PUT' ? textDecoder.decode(entry.value) : undefined;
    const stale = entry && Date.now() - entry.created.getTime() > ABANDONED_RESERVATION_MS;
    if (!entry || !holder || !stale || !isAbandoned(holder)) return false;
    try {
      await kv.update(name, textEncoder.encode(id), entry.revision);
      return true;
    } catch (error) {
      if (!isRevisionConflict(error)) throw error;
      return false;
    }
  }

  /** Frees `name` if store `id` still holds it. */
  async releaseName(name: string, id: string): Promise<void> {
    const kv = await this.namesKv();
    const entry = await kv.get(name);
    if (entry?.operation !== 'PUT' || textDecoder.decode(entry.value) !== id) return;
    try {
      await kv.delete(name, { previousSeq: entry.revision });
    } catch (error) {
      if (!isRevisionConflict(error)) throw error;
    }
  }

  /** Delivers every current store, then every change, to `handlers` until the module stops. */
  async watch(handlers: WatchHandlers): Promise<void> {
    const watcher = await (await this.storesKv()).watch({ initializedFn: handlers.onInitialized });
    this.watchers.add(watcher);
    void (async () => {
      for await (const entry of watcher) {
        try {
          handlers.onChange({ id: entry.key, store: entry.operation === 'PUT' ? decodeStore(entry) : undefined });
        } catch (error) {
          this.logger.error({ msg: 'Skipped an unreadable read-model entry', key: entry.key, error: String(error) });
        }
      }
    })();
  }

  onModuleDestroy(): void {
    for (const watcher of this.watchers) watcher.stop();
  }
}
