import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { describeKubeError, Helm, KubeClients, labels, Leadership, readStore, Store, storeNameOf } from '@urumi/kube';
import { CLEANUP_CONFIG, type CleanupConfig, STORE_CACHE } from './config';

/** What cleanup's informer knows of the Stores: a hint only, and no hint at all until it has synced. */
export interface StoreCache {
  readonly isSynced: boolean;
  get(name: string): Store | undefined;
}

export type SweepOutcome =
  | { readonly swept: true; readonly orphans: readonly string[] }
  | { readonly swept: false; readonly reason: 'cache-not-synced' };

const RELEASE = 'store';

/**
 * Deletes store namespaces no Store owns: left by a crash between a teardown's steps, or by a Store
 * removed by hand. A namespace younger than the grace period is left alone (it may be mid-creation),
 * and nothing is deleted on the strength of the cache: a namespace the cache calls unowned is
 * checked against the Store read live from the API server first, and there is no sweep before the
 * cache has synced. Only the leader of cleanup's Lease sweeps, and it checks its term before each deletion.
 */
@Injectable()
export class OrphanSweep implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(OrphanSweep.name);
  private timer?: NodeJS.Timeout;
  private term?: AbortSignal;

  constructor(
    @Inject(CLEANUP_CONFIG) private readonly config: CleanupConfig,
    @Inject(KubeClients) private readonly kube: KubeClients,
    @Inject(Helm) private readonly helm: Helm,
    @Inject(STORE_CACHE) private readonly stores: StoreCache,
    @Inject(Leadership) private readonly leadership: Leadership,
  ) {}

  onApplicationBootstrap(): void {
    this.leadership.whileLeading('orphan-sweep', {
      start: (term) => {
        this.term = term;
        this.timer = setInterval(
          () =>
            void this.sweep().catch((error: unknown) => {
              if (!term.aborted) this.logger.warn({ msg: 'Orphan sweep failed', error: describeKubeError(error) });
            }),
          this.config.sweepMs,
        );
      },
      stop: () => clearInterval(this.timer),
    });
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  async sweep(now = Date.now()): Promise<SweepOutcome> {
    if (!this.stores.isSynced) return { swept: false, reason: 'cache-not-synced' };
    const orphans: string[] = [];
    const { items } = await this.kube.core.listNamespace({ labelSelector: `${labels.managedBy}=urumi` });
    for (const { metadata = {} } of items) {
      const namespace = metadata.name ?? '';
      const name = storeNameOf(namespace);
      if (!name || metadata.deletionTimestamp) continue;
      const age = now - new Date(metadata.creationTimestamp ?? now).getTime();
      if (age < this.config.orphanGraceMs) continue;
      const storeId = metadata.labels?.[labels.storeId];
      if (this.stores.get(name)?.spec.storeId === storeId) continue;
      // The cache may be stale (a watch that stalled): only the API server may say the owner is gone.
      const live = await readStore(this.kube, name);
      if (live?.spec.storeId === storeId) continue;
      orphans.push(namespace);
      this.leadership.assertLeading(this.term);
      await this.helm.uninstall(RELEASE, namespace, { signal: this.term });
      this.leadership.assertLeading(this.term);
      await this.kube.deleteIfExists({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
      this.logger.warn({
        msg: 'Deleted orphaned namespace',
        namespace,
        reason: live ? 'owned by an earlier store' : 'no Store',
      });
    }
    return { swept: true, orphans };
  }
}
