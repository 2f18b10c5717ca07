import { computed, inject, Injectable, signal } from '@angular/core';
import { StoreView } from './api.types';
import { ApiError } from './api-error';
import { StoresApi } from './stores-api';

export type LoadState = 'idle' | 'loading' | 'loaded' | 'error';

/**
 * The stores the user may see, kept current by the REST list (first paint) and the live-status
 * WebSocket (every change after). A store the gateway reports deleted leaves the list.
 */
@Injectable({ providedIn: 'root' })
export class StoreState {
  private readonly api = inject(StoresApi);
  private readonly byId = signal<ReadonlyMap<string, StoreView>>(new Map());
  /** Ids seen at some point and since deleted: a detail page open on one says so. */
  private readonly deletedIds = signal<ReadonlySet<string>>(new Set());
  private snapshotSeen = false;

  readonly loadState = signal<LoadState>('idle');
  readonly loadError = signal<string | null>(null);
  /** Newest first, as the API lists them. */
  readonly stores = computed(() =>
    [...this.byId().values()].sort((a, b) => b.createdAt.localeCompare(a.createdAt) || a.id.localeCompare(b.id)),
  );

  store(id: string): StoreView | undefined {
    return this.byId().get(id);
  }

  wasDeleted(id: string): boolean {
    return this.deletedIds().has(id);
  }

  async load(): Promise<void> {
    if (this.loadState() === 'loading') return;
    this.loadState.set(this.snapshotSeen ? 'loaded' : 'loading');
    this.loadError.set(null);
    try {
      const { items } = await this.api.list();
      // A WebSocket snapshot that arrived meanwhile is at least as new as this answer.
      if (!this.snapshotSeen) this.byId.set(new Map(items.map((s) => [s.id, s])));
      this.loadState.set('loaded');
    } catch (error) {
      if (this.snapshotSeen) {
        this.loadState.set('loaded');
        return;
      }
      this.loadError.set(ApiError.from(error).message);
      this.loadState.set('error');
    }
  }

  /** Everything the user may see right now: replaces what was known (changes missed while offline). */
  applySnapshot(stores: readonly StoreView[]): void {
    this.snapshotSeen = true;
    const next = new Map(stores.map((s) => [s.id, s]));
    const gone = [...this.byId().keys()].filter((id) => !next.has(id));
    if (gone.length) this.deletedIds.update((ids) => new Set([...ids, ...gone]));
    this.byId.set(next);
    this.loadState.set('loaded');
    this.loadError.set(null);
  }

  /** A newer version of a store (never replaces a newer one with an older answer). */
  upsert(store: StoreView): void {
    const known = this.byId().get(store.id);
    if (known && isOlder(store, known)) return;
    this.byId.update((map) => new Map(map).set(store.id, store));
  }

  remove(id: string): void {
    if (!this.byId().has(id)) return;
    this.byId.update((map) => {
      const next = new Map(map);
      next.delete(id);
      return next;
    });
    this.deletedIds.update((ids) => new Set(ids).add(id));
  }

  clear(): void {
    this.snapshotSeen = false;
    this.byId.set(new Map());
    this.deletedIds.set(new Set());
    this.loadState.set('idle');
    this.loadError.set(null);
  }
}

/** Each event appends a step to the history, so a shorter history is an older version. */
function isOlder(candidate: StoreView, known: StoreView): boolean {
  if (candidate.history.length !== known.history.length) return candidate.history.length < known.history.length;
  return candidate.updatedAt < known.updatedAt;
}
