import {
  dumpYaml,
  KubeConfig,
  KubernetesObject,
  KubernetesObjectApi,
  loadAllYaml,
  PatchStrategy,
  Watch,
} from '@kubernetes/client-node';
import { Sandbox } from '../sandbox';

/** The workloads a store's engine chart runs, by the label every one of them carries. */
const WORKLOAD_SELECTOR = 'app.kubernetes.io/part-of=urumi-store';
const WORKLOADS = ['/apis/apps/v1/deployments', '/apis/apps/v1/statefulsets', '/apis/batch/v1/jobs'] as const;
const RUNTIME_FIELDS = [
  'uid',
  'resourceVersion',
  'creationTimestamp',
  'managedFields',
  'generation',
  'ownerReferences',
];

interface StoreObject extends KubernetesObject {
  metadata: Record<string, unknown> & { name: string; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  status?: unknown;
}

/** One store's objects as a template over its name. */
export interface StoreTemplate {
  /** The namespace first, then what goes in it. */
  objects(name: string): StoreObject[];
  /** The workloads among them (each must be Ready, or a Job complete). */
  readonly workloads: number;
}

/**
 * The store's namespace and everything in it the platform and its chart made (Helm's release records and what the
 * API server fills in left out), as a template over the store name.
 */
export async function captureStore(sandbox: Sandbox, name: string): Promise<StoreTemplate> {
  const ns = `store-${name}`;
  const kinds =
    'resourcequota,limitrange,networkpolicy,secret,configmap,service,persistentvolumeclaim,deployment,statefulset,job,ingress';
  const namespace = loadAllYaml(await sandbox.kubectl(['get', 'namespace', ns, '-o', 'yaml']))[0] as StoreObject;
  const { items } = loadAllYaml(await sandbox.kubectl(['get', kinds, '-n', ns, '-o', 'yaml']))[0] as {
    items: StoreObject[];
  };
  const kept = [namespace, ...items]
    .filter((o) => o.metadata.name !== 'kube-root-ca.crt' && !o.metadata.name.startsWith('sh.helm.release'))
    .map(withoutRuntimeFields);
  const text = kept.map((o) => dumpYaml(o)).join('---\n');
  return {
    objects: (other) => loadAllYaml(text.replaceAll(name, other)) as StoreObject[],
    workloads: kept.filter((o) => ['Deployment', 'StatefulSet', 'Job'].includes(o.kind ?? '')).length,
  };
}

function withoutRuntimeFields(o: StoreObject): StoreObject {
  for (const field of RUNTIME_FIELDS) delete o.metadata[field];
  delete o.status;
  if (o.metadata.annotations) delete o.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration'];
  // Fields the API server fills in (selectors and bindings) must not be applied again.
  if (o.kind === 'Job' && o.spec) {
    delete o.spec['selector'];
    const template = o.spec['template'] as { metadata?: { labels?: Record<string, string> } };
    for (const label of [
      'controller-uid',
      'batch.kubernetes.io/controller-uid',
      'batch.kubernetes.io/job-name',
      'job-name',
    ]) {
      delete template.metadata?.labels?.[label];
    }
  }
  if (o.kind === 'PersistentVolumeClaim' && o.spec) {
    delete o.spec['volumeName'];
    const annotations = o.metadata.annotations ?? {};
    for (const key of Object.keys(annotations)) {
      if (/^(pv|volume(\.beta)?)\.kubernetes\.io\//.test(key)) delete annotations[key];
    }
  }
  if (o.kind === 'Service' && o.spec) {
    delete o.spec['clusterIP'];
    delete o.spec['clusterIPs'];
  }
  return o;
}

/**
 * The floor: the fastest honest way to get a store's objects Ready on this sandbox without the platform. One
 * long-lived client (the client library the operators use), server-side apply, `inFlight` stores at a time, each
 * store's namespace first and then all its objects at once; one watch per workload kind tells when each is Ready.
 * Resolves with each store's time from its first request to its last workload Ready, in ms.
 */
export async function applyFloor(
  sandbox: Sandbox,
  template: StoreTemplate,
  names: readonly string[],
  inFlight: number,
  timeoutMs: number,
): Promise<Map<string, number>> {
  const config = new KubeConfig();
  config.loadFromFile(sandbox.kubeconfig);
  const client = KubernetesObjectApi.makeApiClient(config);
  const apply = (o: StoreObject) =>
    withRetries(() => client.patch(o, undefined, undefined, 'urumi-bench-floor', true, PatchStrategy.ServerSideApply));

  const startedAt = new Map<string, number>();
  const readyAt = new Map<string, number>();
  const ready = new WorkloadReadiness(config, template.workloads, (namespace) => {
    const name = namespace.replace(/^store-/, '');
    const started = startedAt.get(name);
    if (started !== undefined) readyAt.set(name, performance.now() - started);
  });
  await ready.start();
  try {
    const queue = [...names];
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
          startedAt.set(name, performance.now());
          const [namespace, ...rest] = template.objects(name);
          if (namespace) await apply(namespace);
          await Promise.all(rest.map(apply));
        }
      }),
    );
    await ready.all(names.length, timeoutMs);
    return readyAt;
  } finally {
    ready.stop();
  }
}

/** HTTP answers that mean "not now" (throttled, overloaded, timed out): any client retries them, and so does the floor. */
const TRANSIENT = new Set([429, 500, 502, 503, 504]);

async function withRetries<T>(request: () => Promise<T>, attempts = 6): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await request();
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      const transient = typeof code === 'number' ? TRANSIENT.has(code) : code === 'ECONNRESET';
      if (!transient || attempt === attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250 * 2 ** attempt));
    }
  }
}

/** Deletes the floor's namespaces in one client and waits until they are gone; resolves with the time it took, in ms. */
export async function deleteFloor(sandbox: Sandbox, names: readonly string[]): Promise<number> {
  const started = performance.now();
  await sandbox.kubectl(['delete', 'namespace', '--wait=true', ...names.map((n) => `store-${n}`)]);
  return performance.now() - started;
}

interface Workload {
  kind: string;
  metadata: { namespace: string; name: string };
  spec: { replicas?: number };
  status?: { availableReplicas?: number; readyReplicas?: number; succeeded?: number };
}

/** Watches every store workload and reports each namespace once all `perNamespace` of its workloads are Ready. */
class WorkloadReadiness {
  private readonly readyByNamespace = new Map<string, Set<string>>();
  private readonly done = new Set<string>();
  private readonly watches: AbortController[] = [];
  private failure?: unknown;

  constructor(
    private readonly config: KubeConfig,
    private readonly perNamespace: number,
    private readonly onReady: (namespace: string) => void,
  ) {}

  async start(): Promise<void> {
    const watch = new Watch(this.config);
    for (const path of WORKLOADS) {
      this.watches.push(
        await watch.watch(
          path,
          { labelSelector: WORKLOAD_SELECTOR },
          (phase, workload: Workload) => this.observe(phase, workload),
          (error: unknown) => {
            if (error && this.watches.length) this.failure = error;
          },
        ),
      );
    }
  }

  async all(count: number, timeoutMs: number): Promise<void> {
    for (const giveUpAt = performance.now() + timeoutMs; this.done.size < count;) {
      if (this.failure) throw new Error(`floor: a workload watch failed: ${String(this.failure)}`);
      if (performance.now() > giveUpAt) throw new Error(`floor: ${this.done.size} of ${count} stores Ready`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  stop(): void {
    for (const watch of this.watches.splice(0)) watch.abort();
  }

  private observe(phase: string, workload: Workload): void {
    const { namespace, name } = workload.metadata;
    if (phase === 'DELETED' || this.done.has(namespace) || !isReady(workload)) return;
    const ready = this.readyByNamespace.get(namespace) ?? new Set<string>();
    ready.add(`${workload.kind}/${name}`);
    this.readyByNamespace.set(namespace, ready);
    if (ready.size === this.perNamespace) {
      this.done.add(namespace);
      this.onReady(namespace);
    }
  }
}

function isReady({ kind, spec, status = {} }: Workload): boolean {
  if (kind === 'Job') return (status.succeeded ?? 0) > 0;
  return ((kind === 'Deployment' ? status.availableReplicas : status.readyReplicas) ?? 0) >= (spec.replicas ?? 1);
}
