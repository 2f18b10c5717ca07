import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { PatchStrategy, V1Namespace } from '@kubernetes/client-node';
import { Step, stepSlug } from '@urumi/contracts';
import {
  describeKubeError,
  Helm,
  HelmError,
  isNotFound,
  KubeClients,
  labels,
  Leadership,
  namespaceOf,
  NotLeadingError,
  ReconcileResult,
  ResilientInformer,
  STORE,
  Store,
  STORE_FINALIZER,
  storeConditions,
  storeIdentity,
  storeInformer,
  StoreRecorder,
  updateStoreStatus,
  withCondition,
  WorkQueue,
} from '@urumi/kube';
import { StoreEventPublisher } from '@urumi/messaging';
import { CLEANUP_CONFIG, type CleanupConfig } from './config';
import { TeardownMetrics } from './metrics';
import type { StoreCache } from './orphan-sweep';

const RELEASE = 'store';
const NAMESPACE_POLL_MS = 1_000;
const STUCK_POLL_MS = 5_000;

/**
 * Owns the Store finalizer: for each Store being deleted, uninstalls its workload, deletes its
 * namespace, waits until the namespace is gone, reports the store Deleted and only then lets the
 * Store go. A failing teardown shows Degraded with the reason on the Store and retries with backoff;
 * Stores deleting for longer than the stuck threshold are reported and retried. A namespace the store
 * does not own (not made by the platform, or another store's) is never touched. Its Store cache is the
 * orphan sweep's too.
 *
 * Every replica keeps the Store cache warm (it is ready, and a failover starts from a synced cache); only the leader of
 * cleanup's Lease runs the teardown queue and the stuck-Store retries. When leadership ends the queue stops, the
 * term's Helm child processes are killed, and every write checks the term first, before another replica can lead.
 */
@Injectable()
export class Teardown implements OnApplicationBootstrap, OnApplicationShutdown, StoreCache {
  private readonly logger = new Logger(Teardown.name);
  /** The leader's work queue: one per term of leadership, none while standing by. */
  private queue?: WorkQueue;
  /** The current term of leadership: aborted when it ends. */
  private term?: AbortSignal;
  /** The last term's queue shutting down (its teardowns finishing). */
  private draining: Promise<void> = Promise.resolve();
  private readonly stores: ResilientInformer<Store>;
  private stuckTimer?: NodeJS.Timeout;

  constructor(
    @Inject(CLEANUP_CONFIG) private readonly config: CleanupConfig,
    @Inject(KubeClients) private readonly kube: KubeClients,
    @Inject(Helm) private readonly helm: Helm,
    @Inject(StoreEventPublisher) private readonly events: StoreEventPublisher,
    @Inject(Leadership) private readonly leadership: Leadership,
    @Inject(TeardownMetrics) private readonly metrics: TeardownMetrics,
    @Inject(StoreRecorder) private readonly recorder: StoreRecorder,
  ) {
    this.stores = storeInformer(
      kube,
      (store, deleted) => !deleted && store.metadata.deletionTimestamp && this.queue?.add(store.metadata.name),
      (error) =>
        this.logger.warn({ msg: 'Watch failed, restarting it', what: 'stores', error: describeKubeError(error) }),
    );
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.stores.start();
    this.leadership.whileLeading('teardown', {
      start: (term) => this.startTearingDown(term),
      stop: () => this.stopTearingDown(),
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.stopTearingDown();
    await this.stores.stop();
  }

  /**
   * A new term: every Store being deleted is looked at at once. It begins once the previous term's teardowns have
   * stopped, so no Store is ever torn down twice at once.
   */
  private startTearingDown(term: AbortSignal): void {
    void this.draining.then(() => {
      if (!term.aborted) this.beginTerm(term);
    });
  }

  private beginTerm(term: AbortSignal): void {
    this.term = term;
    const queue = new WorkQueue((name) => this.teardown(name), {
      workers: this.config.workers,
      baseDelayMs: 1_000,
      maxDelayMs: 60_000,
      metrics: this.metrics.queue,
      onError: (name, error, retryInMs) => {
        if (error instanceof NotLeadingError || term.aborted) return;
        void this.reportFailure(name, error, retryInMs);
      },
    });
    this.queue = queue;
    queue.start();
    for (const store of this.stores.list()) if (store.metadata.deletionTimestamp) queue.add(store.metadata.name);
    this.stuckTimer = setInterval(() => this.retryStuck(), this.config.sweepMs);
    this.logger.log({ msg: 'Tearing down deleted stores', workers: this.config.workers });
  }

  /** Takes no more Stores at once (as leadership ends); resolves when the teardowns in flight have stopped. */
  private stopTearingDown(): Promise<void> {
    clearInterval(this.stuckTimer);
    this.stuckTimer = undefined;
    const queue = this.queue;
    this.queue = undefined;
    if (queue) {
      this.logger.log({ msg: 'Stopped tearing down stores' });
      this.draining = queue.shutdown();
    }
    return this.draining;
  }

  /** Every write first checks that this replica still leads, in the term the teardown began in. */
  private ensureLeading(): void {
    this.leadership.assertLeading(this.term);
  }

  get isSynced(): boolean {
    return this.stores.isSynced;
  }

  get(name: string): Store | undefined {
    return this.stores.get(name);
  }

  async teardown(name: string): Promise<ReconcileResult | void> {
    this.ensureLeading();
    let store = this.stores.get(name);
    if (!store?.metadata.deletionTimestamp || !store.metadata.finalizers?.includes(STORE_FINALIZER)) return;
    const namespace = namespaceOf(name);
    if (store.status?.phase !== 'Deleting') {
      this.ensureLeading();
      store = await updateStoreStatus(this.kube, store, {
        phase: 'Deleting',
        step: stepSlug(Step.DELETING),
        history: [...(store.status?.history ?? []), { step: stepSlug(Step.DELETING), at: new Date().toISOString() }],
        conditions: withCondition(
          store.status?.conditions,
          { type: 'Ready', status: 'False', reason: 'Deleting', message: 'the store is being torn down' },
          new Date(),
        ),
      });
      void this.recorder.record(store, {
        type: 'Normal',
        reason: 'Deleting',
        message: `uninstalling the engine chart and deleting namespace ${namespace}`,
      });
    }

    const existing = ownedBy(store, await this.readNamespace(namespace));
    if (existing) {
      if (!existing.metadata?.deletionTimestamp) {
        this.ensureLeading();
        await this.helm.uninstall(RELEASE, namespace, { signal: this.term });
        this.ensureLeading();
        await this.kube.deleteIfExists({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
        this.logger.log({ msg: 'Deleted Namespace', store: name, namespace });
      }
      const waited = Date.now() - Date.parse(String(store.metadata.deletionTimestamp));
      if (waited > this.config.stuckAfterMs) {
        // Not a failed action but a wait that lasts: say why on the Store, and keep looking, less often.
        const holdUps = (existing.status?.conditions ?? []).filter((c) => c.status === 'True').map((c) => c.message);
        const holdUp = holdUps.length ? holdUps.join('; ') : 'no reason reported';
        const stuck = { reason: 'NamespaceStuck', message: `namespace ${namespace} is still terminating: ${holdUp}` };
        const reported = store.status?.conditions?.find((c) => c.type === 'Degraded' && c.status === 'True');
        this.ensureLeading();
        await updateStoreStatus(this.kube, store, {
          conditions: withCondition(
            store.status?.conditions,
            { type: 'Degraded', status: 'True', ...stuck },
            new Date(),
          ),
        });
        if (reported?.reason !== stuck.reason) void this.recorder.record(store, { type: 'Warning', ...stuck });
        return { requeueAfterMs: STUCK_POLL_MS };
      }
      return { requeueAfterMs: NAMESPACE_POLL_MS };
    }

    // Reported before the finalizer goes: a crash in between repeats the event (deduplicated), never loses it.
    this.ensureLeading();
    await this.events.publish(storeIdentity(store), { step: Step.DELETED }, storeConditions(store));
    this.ensureLeading();
    await this.kube.objects.patch(
      {
        apiVersion: STORE.apiVersion,
        kind: STORE.kind,
        metadata: {
          name,
          resourceVersion: store.metadata.resourceVersion,
          finalizers: (store.metadata.finalizers ?? []).filter((f) => f !== STORE_FINALIZER),
        },
      },
      undefined,
      undefined,
      undefined,
      undefined,
      PatchStrategy.MergePatch,
    );
    this.logger.log({ msg: 'Store deleted', store: name, storeId: store.spec.storeId });
    void this.recorder.record(store, {
      type: 'Normal',
      reason: 'Deleted',
      message: `namespace ${namespace} and everything in it are gone; the Store is released`,
    });
    const deletedAt = store.metadata.deletionTimestamp;
    this.metrics.deleted(store.spec.engine, deletedAt ? new Date(deletedAt) : undefined, new Date());
  }

  /** Stores deleting for longer than the stuck threshold are reported and queued again. */
  retryStuck(now = Date.now()): string[] {
    const stuck: string[] = [];
    for (const store of this.stores.list()) {
      const since = store.metadata.deletionTimestamp && Date.parse(String(store.metadata.deletionTimestamp));
      if (since && now - since > this.config.stuckAfterMs) {
        stuck.push(store.metadata.name);
        this.logger.warn({
          msg: 'Store stuck deleting',
          store: store.metadata.name,
          since: new Date(since).toISOString(),
        });
        this.queue?.add(store.metadata.name);
      }
    }
    return stuck;
  }

  private async readNamespace(name: string): Promise<V1Namespace | undefined> {
    try {
      return await this.kube.core.readNamespace({ name });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /** A failed teardown shows on the Store as Degraded, with the reason, until a retry succeeds. */
  private async reportFailure(name: string, error: unknown, retryInMs: number): Promise<void> {
    const reason = error instanceof HelmError ? 'UninstallFailed' : 'TeardownFailed';
    this.metrics.failed(reason);
    const message = `${error instanceof HelmError ? error.message : describeKubeError(error)}; retrying in ${Math.round(retryInMs / 1000)}s`;
    this.logger.warn({ msg: 'Teardown failed, will retry', store: name, reason, error: message });
    const store = this.stores.get(name);
    if (!store || !this.leadership.isLeading) return;
    void this.recorder.record(store, { type: 'Warning', reason, message });
    try {
      await updateStoreStatus(this.kube, store, {
        conditions: withCondition(
          store.status?.conditions,
          { type: 'Degraded', status: 'True', reason, message },
          new Date(),
        ),
      });
    } catch (statusError) {
      this.logger.warn({
        msg: 'Could not report the failure on the Store',
        store: name,
        error: describeKubeError(statusError),
      });
    }
  }
}

/** The namespace if it is this store's (the platform made it for this store id); a namespace that isn't is left alone. */
function ownedBy(store: Store, namespace: V1Namespace | undefined): V1Namespace | undefined {
  const own = namespace?.metadata?.labels;
  return own?.[labels.managedBy] === 'urumi' && own[labels.storeId] === store.spec.storeId ? namespace : undefined;
}
