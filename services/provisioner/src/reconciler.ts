import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { loadAllYaml } from '@kubernetes/client-node';
import type {
  ConfigurationOptions,
  KubernetesListObject,
  KubernetesObject,
  V1Namespace,
} from '@kubernetes/client-node';
import { Step, stepSlug } from '@urumi/contracts';
import {
  describeKubeError,
  Helm,
  HelmError,
  KubeClients,
  labels,
  Leadership,
  namespaceOf,
  NotLeadingError,
  Phase,
  ReconcileResult,
  ResilientInformer,
  Store,
  StoreCondition,
  storeConditions,
  storeIdentity,
  storeInformer,
  storeNameOf,
  StoreRecorder,
  storeUrl,
  updateStoreStatus,
  withCondition,
  WorkQueue,
} from '@urumi/kube';
import { StoreEventPublisher } from '@urumi/messaging';
import { createHash } from 'node:crypto';
import { PROVISIONER_CONFIG } from './tokens';
import type { ProvisionerConfig } from './config';
import { ensureCredentials } from './credentials';
import { guardrailManifests, ingressManifest, namespaceManifest } from './desired-state';
import { chartValues } from './engine-values';
import { EngineChart } from './engines';
import { healthChange, isDegraded, problemOf, withHealth } from './health';
import { ProvisioningMetrics } from './metrics';
import { readinessOf, Workloads } from './readiness';
import { newlyRecorded, notesOf } from './story';
import { ENGINE_CHARTS } from './tokens';

export const FIELD_MANAGER = 'urumi-provisioner';
const RELEASE = 'store';
/** A safety net: changes to the engine's workloads wake a pending store at once through the informers. */
const POLL_MS = 10_000;
/** Every workload an engine chart makes carries this label (charts/README.md): the only ones watched. */
const ENGINE_WORKLOADS = 'app.kubernetes.io/part-of=urumi-store';

/** How a step shows in the Store's status and in its event. */
interface Progress {
  readonly step: Step;
  readonly phase: Phase;
  readonly reason: string;
  readonly message: string;
}

/**
 * Reconciles each Store into its fenced namespace and running engine, level-triggered: the work queue
 * is fed by informers on Stores and on what the provisioner made (so a deleted ResourceQuota or
 * NetworkPolicy comes back within moments), and by a periodic resync. Every step is safe to repeat;
 * what a crash interrupted is simply done again from what the cluster holds.
 *
 * Every replica keeps its informers' caches warm (it is ready, and a failover starts from a synced cache), but only
 * the leader of the provisioner's Lease runs the work queue and the resync. When leadership ends the queue stops, the
 * term's Helm child processes are killed (SIGKILL, through the term's AbortSignal), and every write checks the term
 * first — all before the renew deadline, so before another replica can take the Lease over.
 */
@Injectable()
export class StoreReconciler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(StoreReconciler.name);
  /** The leader's work queue: one per term of leadership, none while standing by. */
  private queue?: WorkQueue;
  /** The current term of leadership: aborted when it ends. */
  private term?: AbortSignal;
  /** The last term's queue shutting down (its reconciles finishing). */
  private draining: Promise<void> = Promise.resolve();
  private readonly stores: ResilientInformer<Store>;
  private readonly watchers: ResilientInformer<KubernetesObject>[];
  /** The engines' workloads as the informers last saw them, by kind (for Ready stores' health). */
  private readonly workloadCaches: readonly [
    ResilientInformer<KubernetesObject>,
    ResilientInformer<KubernetesObject>,
    ResilientInformer<KubernetesObject>,
  ];
  /** Store name → when this process last applied its namespace, fence, credentials and Ingress. */
  private readonly applied = new Map<string, { generation: number; at: number }>();
  /** Store name → the workloads its Helm release installed at a revision. */
  private readonly installed = new Map<string, { revision: string; workloads: readonly string[] }>();
  private resync?: NodeJS.Timeout;

  constructor(
    @Inject(PROVISIONER_CONFIG) private readonly config: ProvisionerConfig,
    @Inject(KubeClients) private readonly kube: KubeClients,
    @Inject(Helm) private readonly helm: Helm,
    @Inject(ENGINE_CHARTS) private readonly engines: ReadonlyMap<string, EngineChart>,
    @Inject(StoreEventPublisher) private readonly events: StoreEventPublisher,
    @Inject(Leadership) private readonly leadership: Leadership,
    @Inject(ProvisioningMetrics) private readonly metrics: ProvisioningMetrics,
    @Inject(StoreRecorder) private readonly recorder: StoreRecorder,
  ) {
    const enqueueStore = (store: Store, deleted: boolean) => {
      if (deleted) {
        this.applied.delete(store.metadata.name);
        this.installed.delete(store.metadata.name);
      } else this.queue?.add(store.metadata.name);
    };
    const enqueueNamespace = (object: KubernetesObject) => {
      const name = storeNameOf(object.metadata?.namespace ?? '');
      if (name) this.queue?.add(name);
    };
    const onError = (what: string) => (error: unknown) =>
      this.logger.warn({ msg: 'Watch failed, restarting it', what, error: describe(error) });
    const { apps, batch, core, networking } = kube;
    this.stores = storeInformer(kube, enqueueStore, onError('stores'));
    // What wakes a store: any change to its engine's workloads, or one of its fence objects deleted.
    type List = (
      query: { labelSelector: string },
      options?: ConfigurationOptions,
    ) => Promise<KubernetesListObject<KubernetesObject>>;
    const engineWorkloads: [[string, List], [string, List], [string, List]] = [
      ['/apis/apps/v1/deployments', (q, o) => apps.listDeploymentForAllNamespaces(q, o)],
      ['/apis/apps/v1/statefulsets', (q, o) => apps.listStatefulSetForAllNamespaces(q, o)],
      ['/apis/batch/v1/jobs', (q, o) => batch.listJobForAllNamespaces(q, o)],
    ];
    const fence: [string, List][] = [
      ['/api/v1/resourcequotas', (q, o) => core.listResourceQuotaForAllNamespaces(q, o)],
      ['/api/v1/limitranges', (q, o) => core.listLimitRangeForAllNamespaces(q, o)],
      ['/apis/networking.k8s.io/v1/networkpolicies', (q, o) => networking.listNetworkPolicyForAllNamespaces(q, o)],
      ['/apis/networking.k8s.io/v1/ingresses', (q, o) => networking.listIngressForAllNamespaces(q, o)],
    ];
    // Fence objects wake a store only when deleted (and make it re-apply its fence at once): only their metadata
    // (their namespace) is needed, and only it is cached.
    const watch =
      (labelSelector: string, onlyDeletions: boolean) =>
      ([path, list]: [string, List]) =>
        new ResilientInformer(kube.config, {
          path,
          list: (options) => list({ labelSelector }, options),
          labelSelector,
          metadataOnly: onlyDeletions,
          onChange: (object, deleted) => {
            if (deleted && onlyDeletions) this.applied.delete(storeNameOf(object.metadata?.namespace ?? '') ?? '');
            if (deleted || !onlyDeletions) enqueueNamespace(object);
          },
          onError: onError(path),
        });
    const engine = watch(ENGINE_WORKLOADS, false);
    this.workloadCaches = [engine(engineWorkloads[0]), engine(engineWorkloads[1]), engine(engineWorkloads[2])];
    this.watchers = [...this.workloadCaches, ...fence.map(watch(`${labels.managedBy}=urumi`, true))];
  }

  async onApplicationBootstrap(): Promise<void> {
    await Promise.all(this.watchers.map((i) => i.start()));
    await this.stores.start();
    this.leadership.whileLeading('reconciler', {
      start: (term) => this.startReconciling(term),
      stop: () => this.stopReconciling(),
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.stopReconciling();
    await Promise.all([this.stores, ...this.watchers].map((i) => i.stop()));
  }

  /**
   * A new term: every store is looked at at once, from the synced cache, and its fence applied again. It begins once
   * the previous term's reconciles have stopped, so no store is ever reconciled twice at once.
   */
  private startReconciling(term: AbortSignal): void {
    void this.draining.then(() => {
      if (!term.aborted) this.beginTerm(term);
    });
  }

  private beginTerm(term: AbortSignal): void {
    this.term = term;
    // What another leader did meanwhile is not known here.
    this.applied.clear();
    const queue = new WorkQueue((name) => this.reconcile(name), {
      workers: this.config.workers,
      metrics: this.metrics.queue,
      onError: (name, error, retryInMs) => {
        if (error instanceof NotLeadingError || term.aborted) return;
        this.logger.warn({ msg: 'Reconcile failed, will retry', store: name, error: describe(error), retryInMs });
      },
    });
    this.queue = queue;
    queue.start();
    for (const store of this.stores.list()) queue.add(store.metadata.name);
    this.resync = setInterval(() => {
      for (const store of this.stores.list()) queue.add(store.metadata.name);
    }, this.config.resyncMs);
    this.logger.log({ msg: 'Reconciling stores', workers: this.config.workers, engines: [...this.engines.keys()] });
  }

  /** Takes no more keys at once (synchronously, as leadership ends); resolves when the reconciles in flight have stopped. */
  private stopReconciling(): Promise<void> {
    clearInterval(this.resync);
    this.resync = undefined;
    const queue = this.queue;
    this.queue = undefined;
    if (queue) {
      this.logger.log({ msg: 'Stopped reconciling stores' });
      this.draining = queue.shutdown();
    }
    return this.draining;
  }

  /** Every write first checks that this replica still leads, in the term the reconcile began in. */
  private ensureLeading(): void {
    this.leadership.assertLeading(this.term);
  }

  get isSynced(): boolean {
    return this.stores.isSynced;
  }

  async reconcile(name: string): Promise<ReconcileResult | void> {
    this.ensureLeading();
    const observed = this.stores.get(name);
    // Gone, or being torn down: cleanup owns it from here.
    if (!observed || observed.metadata.deletionTimestamp) return;
    if (observed.status?.phase === 'Failed') return;
    // Steps are recorded in memory (their events published at once) and written to the status in
    // as few writes as the work allows: before the engine install, and at the end of the pass.
    let store = observed;
    const chart = this.engines.get(store.spec.engine);
    if (!chart) {
      const message = `no chart for engine "${store.spec.engine}"; known: ${[...this.engines.keys()].join(', ')}`;
      store = await this.progress(store, { step: Step.FAILED, phase: 'Failed', reason: 'UnknownEngine', message });
      await this.writeStatus(observed, store);
      return;
    }
    if (!store.status?.phase) {
      // Quota published this step; the Store's status only records it.
      store = this.advance(store, {
        step: Step.APPROVED,
        phase: 'Provisioning',
        reason: 'Approved',
        message: 'quota approved the store; provisioning',
      });
    }
    const namespace = namespaceOf(name);
    const { ingressClass, ingressController, dns, tls } = this.config;
    const fence = { ingressClass, ingressController, dns, tls };

    // What this process applied within a resync period is not applied again on every wake-up (a
    // store waiting for its workload is looked at often); a fence object deleted by hand forgets it.
    const applied = this.appliedRecently(store);
    if (!applied) {
      const refusal = await this.namespaceRefusal(store);
      if (refusal) {
        store = await this.progress(store, { step: Step.FAILED, phase: 'Failed', ...refusal });
        await this.writeStatus(observed, store);
        return;
      }
      await this.apply(namespaceManifest(store, chart));
      await Promise.all(guardrailManifests(store, fence).map((m) => this.apply(m)));
      this.logger.debug({ msg: 'Applied namespace and fence', store: name, namespace });
    }
    store = await this.reach(store, Step.NAMESPACE_READY, 'NamespaceReady', `namespace ${namespace} is fenced in`);

    if (!applied) {
      this.ensureLeading();
      const credentials = await ensureCredentials(this.kube, store, chart.credentials);
      if (credentials !== 'unchanged') {
        this.logger.log({ msg: `Credentials ${credentials}`, store: name, namespace, keys: chart.credentials.length });
      }
    }
    store = await this.reach(store, Step.SECRETS_READY, 'SecretsReady', 'credentials generated');
    let written = await this.writeStatus(observed, store);

    // The engine's overrides are part of the values, so a changed override upgrades the store on its next resync.
    const values = chartValues(store, this.config, this.config.engineValues.get(chart.engine));
    const revision = digest(`${chart.engine}@${chart.version}\n${JSON.stringify(values)}`);
    if (store.status?.workloadRevision !== revision) {
      await this.installWorkload(namespace, chart, values);
      this.logger.log({ msg: 'Installed engine chart', store: name, namespace, chart: `store-${chart.engine}` });
    }
    if (!applied) {
      await this.apply(ingressManifest(store, fence));
      this.applied.set(name, { generation: store.metadata.generation ?? 0, at: Date.now() });
    }
    store = await this.reach(
      store,
      Step.WORKLOAD_INSTALLED,
      'WorkloadInstalled',
      `engine chart store-${chart.engine} installed`,
    );
    store = { ...store, status: { ...store.status, workloadRevision: revision } };

    // A Ready store that the informers' caches show healthy costs no API request on its resync; any sign of a
    // problem is confirmed below by reading live.
    if (store.status?.phase === 'Ready' && !isDegraded(store)) {
      const [deployments, statefulSets, jobs] = this.workloadCaches.map((cache) => cache.list(namespace));
      const cached = { deployments, statefulSets, jobs } as Workloads;
      const installed = await this.installedWorkloads(name, namespace, revision);
      if (!missingWorkloads(installed, cached).length && readinessOf(cached).state === 'ready') {
        await this.writeStatus(written, store);
        return undefined;
      }
    }
    // Read live, not from the informers' caches: those only wake the queue, and a watch that stalls
    // must not hold a store short of Ready.
    const [deployments, statefulSets, jobs] = await Promise.all([
      this.kube.apps.listNamespacedDeployment({ namespace }),
      this.kube.apps.listNamespacedStatefulSet({ namespace }),
      this.kube.batch.listNamespacedJob({ namespace }),
    ]);
    const workloads = { deployments: deployments.items, statefulSets: statefulSets.items, jobs: jobs.items };
    if (store.status?.phase === 'Ready') {
      // A Ready store is kept so: a workload deleted by hand is put back, and the store shows Degraded meanwhile.
      const missing = missingWorkloads(await this.installedWorkloads(name, namespace, revision), workloads);
      if (missing.length) {
        await this.installWorkload(namespace, chart, values);
        this.logger.warn({ msg: 'Reinstalled missing workloads', store: name, namespace, missing });
      }
      const problem = problemOf(missing, readinessOf(workloads));
      const checked = withHealth(store, problem, storeUrl(store, this.config.urlScheme), new Date());
      const change = healthChange(store, checked);
      if (change) await this.announceHealth(checked, change);
      store = checked;
      await this.writeStatus(written, store);
      return problem ? { requeueAfterMs: POLL_MS } : undefined;
    }
    const readiness = readinessOf(workloads);
    const startedAt = Date.parse(store.status?.provisioningStartedAt ?? '');
    const waited = Date.now() - startedAt;
    if (readiness.state === 'ready') {
      const message = `serving at ${storeUrl(store, this.config.urlScheme)}`;
      store = await this.progress(store, { step: Step.READY, phase: 'Ready', reason: 'StoreReady', message });
    } else if (readiness.state === 'failed') {
      store = await this.progress(store, {
        step: Step.FAILED,
        phase: 'Failed',
        reason: readiness.reason,
        message: readiness.message,
      });
    } else if (waited > this.config.provisionTimeoutMs) {
      store = await this.progress(store, {
        step: Step.FAILED,
        phase: 'Failed',
        reason: 'ProvisioningTimeout',
        message: `not ready after ${Math.round(waited / 1000)}s, waiting for ${readiness.waitingFor.join(', ')}; see kubectl get pods,events -n ${namespace}`,
      });
    } else {
      const conditions = withCondition(
        store.status?.conditions,
        {
          type: 'Progressing',
          status: 'True',
          reason: 'WaitingForWorkload',
          message: `waiting for ${readiness.waitingFor.join(', ')}`,
          observedGeneration: store.metadata.generation,
        },
        new Date(),
      );
      store = { ...store, status: { ...store.status, conditions } };
    }
    written = await this.writeStatus(written, store);
    return written.status?.phase === 'Provisioning' ? { requeueAfterMs: POLL_MS } : undefined;
  }

  /** Records a step once: a repeated reconcile that finds it in the history moves on. */
  private async reach(store: Store, step: Step, reason: string, message: string): Promise<Store> {
    if (store.status?.history?.some((entry) => entry.step === stepSlug(step))) return store;
    return this.progress(store, { step, phase: store.status?.phase ?? 'Provisioning', reason, message });
  }

  /**
   * Moves the store to a step and announces it with a status event. The event goes before the status
   * is written (its id makes a repeat harmless), so a crash in between repeats the event rather than
   * losing it.
   */
  private async progress(store: Store, progress: Progress): Promise<Store> {
    this.ensureLeading();
    const now = new Date();
    const next = this.advance(store, progress, now);
    const failed = progress.phase === 'Failed';
    await this.events.publish(
      storeIdentity(next, this.config.urlScheme),
      { step: progress.step, reason: failed ? progress.reason : '', message: failed ? progress.message : '', at: now },
      storeConditions(next),
    );
    this.logger.log({ msg: `Store ${stepSlug(progress.step)}`, store: store.metadata.name, reason: progress.reason });
    return next;
  }

  /** The store at a step, in memory: its conditions, phase and history. */
  private advance(store: Store, progress: Progress, now = new Date()): Store {
    const generation = store.metadata.generation;
    const ready = progress.phase === 'Ready';
    const failed = progress.phase === 'Failed';
    let conditions: StoreCondition[] = withCondition(
      store.status?.conditions,
      {
        type: 'Ready',
        status: ready ? 'True' : 'False',
        reason: progress.reason,
        message: progress.message,
        observedGeneration: generation,
      },
      now,
    );
    conditions = withCondition(
      conditions,
      {
        type: 'Progressing',
        status: ready || failed ? 'False' : 'True',
        reason: progress.reason,
        message: progress.message,
        observedGeneration: generation,
      },
      now,
    );
    conditions = withCondition(
      conditions,
      {
        type: 'Degraded',
        status: failed ? 'True' : 'False',
        reason: failed ? progress.reason : 'AsExpected',
        message: failed ? progress.message : '',
        observedGeneration: generation,
      },
      now,
    );
    const history = [...(store.status?.history ?? [])];
    if (!history.some((entry) => entry.step === stepSlug(progress.step))) {
      history.push({
        step: stepSlug(progress.step),
        at: now.toISOString(),
        reason: progress.reason,
        message: progress.message,
      });
    }
    return {
      ...store,
      status: {
        ...store.status,
        phase: progress.phase,
        step: stepSlug(progress.step),
        url: storeUrl(store, this.config.urlScheme),
        namespace: namespaceOf(store.metadata.name),
        provisioningStartedAt: store.status?.provisioningStartedAt ?? now.toISOString(),
        observedGeneration: generation,
        history,
        conditions,
      },
    };
  }

  /**
   * Why the store may not have its namespace, if it may not: one the platform did not make is never taken
   * over (its deletion would delete someone else's namespace); an earlier store's is waited for.
   */
  private async namespaceRefusal(store: Store): Promise<{ reason: string; message: string } | undefined> {
    const name = namespaceOf(store.metadata.name);
    const existing = await this.kube.readIfExists<V1Namespace>({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name },
    });
    const own = existing?.metadata?.labels ?? {};
    if (!existing || own[labels.storeId] === store.spec.storeId) return undefined;
    if (own[labels.managedBy] !== 'urumi') {
      return {
        reason: 'NamespaceNotOwned',
        message: `namespace ${name} already exists and was not created by the platform; it is left as it is`,
      };
    }
    // Torn down by cleanup (or swept as an orphan) shortly: the retry finds it gone.
    throw new Error(`namespace ${name} still belongs to an earlier store (${own[labels.storeId] ?? 'unknown'})`);
  }

  /** The Deployments and StatefulSets the store's Helm release installed, looked up once per revision. */
  private async installedWorkloads(name: string, namespace: string, revision: string): Promise<readonly string[]> {
    const known = this.installed.get(name);
    if (known?.revision === revision) return known.workloads;
    const workloads = loadAllYaml(await this.helm.manifest(RELEASE, namespace, { signal: this.term }))
      .filter((o: KubernetesObject | null) => o?.kind === 'Deployment' || o?.kind === 'StatefulSet')
      .map((o: KubernetesObject) => `${o.kind} ${o.metadata?.name}`);
    this.installed.set(name, { revision, workloads });
    return workloads;
  }

  /**
   * A Ready store's health changed: announced as its Ready step again, with the conditions that say how it is, so
   * the gateway's view of it turns Degraded and back. Like every event, before the status is written.
   */
  private async announceHealth(store: Store, change: string): Promise<void> {
    this.ensureLeading();
    const at = new Date();
    await this.events.publish(
      storeIdentity(store, this.config.urlScheme),
      { step: Step.READY, at, revision: change },
      storeConditions(store),
    );
    const degraded = store.status?.conditions?.find((c) => c.type === 'Degraded');
    if (degraded?.status === 'True') {
      this.logger.warn({
        msg: 'Store degraded',
        store: store.metadata.name,
        reason: degraded.reason,
        message: degraded.message,
      });
    } else this.logger.log({ msg: 'Store recovered', store: store.metadata.name });
  }

  /** Whether this process applied the store's namespace, fence, credentials and Ingress this resync period. */
  private appliedRecently(store: Store): boolean {
    const last = this.applied.get(store.metadata.name);
    return (
      last !== undefined &&
      last.generation === (store.metadata.generation ?? 0) &&
      Date.now() - last.at < this.config.resyncMs
    );
  }

  /** Server-side apply as the provisioner, by the leader only. */
  private apply(manifest: KubernetesObject): Promise<unknown> {
    this.ensureLeading();
    return this.kube.apply(manifest, FIELD_MANAGER);
  }

  /** Writes `next`'s status over `written` (the last version stored), if anything changed. */
  private async writeStatus(written: Store, next: Store): Promise<Store> {
    this.ensureLeading();
    const stored = await updateStoreStatus(this.kube, written, next.status ?? {});
    if (stored !== written) {
      this.logger.debug({ msg: 'Wrote Store status', store: written.metadata.name, phase: stored.status?.phase });
      this.countRecorded(written, stored);
      void this.recorder.record(stored, ...notesOf(written, stored));
    }
    return stored;
  }

  /**
   * Counts each step the status just written records for the first time: once per store, however often a reconcile
   * (repeated on a stale cache, whose write the API server refuses as a conflict) reached it.
   */
  private countRecorded(before: Store, after: Store): void {
    const { engine } = after.spec;
    for (const { entry, previous } of newlyRecorded(before, after)) {
      const at = new Date(entry.at);
      this.metrics.stepReached(entry.step, previous && new Date(previous.at), at);
      if (entry.step === stepSlug(Step.FAILED)) this.metrics.failed(engine, entry.reason ?? 'Unknown');
      const created = after.metadata.creationTimestamp;
      if (entry.step === stepSlug(Step.READY)) this.metrics.ready(engine, created && new Date(created), at);
    }
  }

  /** helm upgrade --install; a release an earlier crash left locked is rolled back or removed first. */
  private async installWorkload(namespace: string, chart: EngineChart, values: unknown): Promise<void> {
    this.ensureLeading();
    const signal = this.term;
    try {
      await this.helm.upgradeInstall(RELEASE, namespace, chart.path, values, { signal });
    } catch (error) {
      if (!(error instanceof HelmError) || !error.isLocked) throw error;
      const release = await this.helm.status(RELEASE, namespace, { signal });
      // A lock this young may be a live operation (another replica's): leave it and retry later.
      if (release && Date.now() - release.updated.getTime() < this.config.helmStaleLockMs) throw error;
      this.logger.warn({ msg: 'Recovering a locked Helm release', namespace, status: release?.status });
      this.ensureLeading();
      if (release?.status === 'pending-install') await this.helm.uninstall(RELEASE, namespace, { signal });
      else await this.helm.rollback(RELEASE, namespace, { signal });
      this.ensureLeading();
      await this.helm.upgradeInstall(RELEASE, namespace, chart.path, values, { signal });
    }
  }
}

/** The installed workloads no longer in the namespace. */
function missingWorkloads(installed: readonly string[], { deployments, statefulSets }: Workloads): string[] {
  const present = new Set([
    ...deployments.map((d) => `Deployment ${d.metadata?.name}`),
    ...statefulSets.map((s) => `StatefulSet ${s.metadata?.name}`),
  ]);
  return installed.filter((workload) => !present.has(workload));
}

const digest = (text: string): string => createHash('sha256').update(text).digest('hex').slice(0, 16);

function describe(error: unknown): string {
  return error instanceof HelmError ? error.message : describeKubeError(error);
}
