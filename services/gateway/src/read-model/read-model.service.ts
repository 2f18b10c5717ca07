import { Injectable, OnModuleInit } from '@nestjs/common';
import { Step, Store, timestampDate } from '@urumi/contracts';
import { StoreChange, StoreRepository } from './store.repository';

/** Who is asking: tenants see their own stores, admins see all. */
export interface Viewer {
  readonly name: string;
  readonly role: 'admin' | 'tenant';
}

export type StoreListener = (change: StoreChange) => void;

export interface ListOptions {
  readonly step?: Step;
  readonly limit?: number;
  readonly after?: string;
}

export interface StorePage {
  readonly items: Store[];
  readonly next?: string;
}

export function canSee(viewer: Viewer, store: Store): boolean {
  return viewer.role === 'admin' || store.owner === viewer.name;
}

/**
 * Every store, held in memory and kept current by watching the read-model bucket: list and get never
 * touch NATS or Kubernetes, and each change is fanned out to the live-status listeners.
 */
@Injectable()
export class ReadModel implements OnModuleInit {
  private readonly stores = new Map<string, Store>();
  private readonly listeners = new Set<StoreListener>();
  /** Every store, newest first: rebuilt on the first read after a change, since reads far outnumber changes. */
  private newestFirst?: Store[];
  private initialized = false;

  constructor(private readonly repository: StoreRepository) {}

  async onModuleInit(): Promise<void> {
    await this.repository.watch({
      onChange: (change) => this.accept(change),
      onInitialized: () => {
        this.initialized = true;
      },
    });
  }

  isReady(): boolean {
    return this.initialized;
  }

  /**
   * The stores `viewer` may see, newest first, `limit` at a time; `after` is the id of the last store
   * of the previous page (an id that no longer exists starts over from the newest).
   */
  list(viewer: Viewer, { step, limit = Number.MAX_SAFE_INTEGER, after }: ListOptions = {}): StorePage {
    this.newestFirst ??= [...this.stores.values()]
      .map((store) => ({ store, at: createdAt(store) }))
      .sort((a, b) => b.at - a.at || a.store.id.localeCompare(b.store.id))
      .map(({ store }) => store);
    const visible = this.newestFirst.filter(
      (store) => canSee(viewer, store) && (step === undefined || store.step === step),
    );
    const start = after === undefined ? 0 : visible.findIndex((store) => store.id === after) + 1;
    const items = visible.slice(start, start + limit);
    const last = items[items.length - 1];
    return start + limit < visible.length && last ? { items, next: last.id } : { items };
  }

  /** The store, when it exists and `viewer` may see it: another tenant's store does not exist for you. */
  get(viewer: Viewer, id: string): Store | undefined {
    const store = this.stores.get(id);
    return store && canSee(viewer, store) ? store : undefined;
  }

  /** Whether the read model holds the store at all, whoever owns it. */
  has(id: string): boolean {
    return this.stores.has(id);
  }

  /** Applies a change this replica made itself at once, ahead of the bucket's watch delivering it. */
  accept(change: StoreChange): void {
    const known = this.stores.get(change.id);
    if (change.store && known && known.lastSequence >= change.store.lastSequence) return;
    if (change.store) this.stores.set(change.id, change.store);
    else if (!this.stores.delete(change.id)) return;
    this.newestFirst = undefined;
    const delivered = known ? { ...change, previous: known } : change;
    for (const listener of this.listeners) listener(delivered);
  }

  subscribe(listener: StoreListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

function createdAt(store: Store): number {
  return store.createdAt ? timestampDate(store.createdAt).getTime() : 0;
}
