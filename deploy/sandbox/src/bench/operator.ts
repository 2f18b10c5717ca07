import { join } from 'node:path';
import { loadAllYaml, dumpYaml } from '@kubernetes/client-node';
import { log } from '../log';
import { repoRoot } from '../paths';
import { Platform, ServiceName, SERVICES } from '../platform';
import { Sandbox } from '../sandbox';
import { SeededUser } from '../tokens';
import { percentile, publishResults, residentMegabytes, round } from './stats';

const STORES = Number(process.env['BENCH_STORES'] ?? 100);
const IN_FLIGHT = 10;
const TIMEOUT_MS = 10 * 60_000;

const tenant: SeededUser = { name: 'bench', role: 'tenant', token: 'bench-tenant-token-000000000000' };
const admin: SeededUser = { name: 'bench-admin', role: 'admin', token: 'bench-admin-token-0000000000000' };
const headers = (user: SeededUser) => ({ Authorization: `Bearer ${user.token}`, 'Content-Type': 'application/json' });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Listed {
  items: { id: string; name: string; step: string }[];
}

/** Runs `task` over `items`, `limit` at a time. */
async function pool<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      for (let item = items[next++]; item !== undefined; item = items[next++]) await task(item);
    }),
  );
}

/**
 * `npm run bench:operator`: STORES (100) stores requested through the REST API on a fresh sandbox,
 * timed to Ready and to gone; then the floor — the very objects the platform made for a store, applied
 * directly with kubectl for as many stores, no platform — timed the same way. Prints and writes JSON.
 */
async function main(): Promise<void> {
  // KWOK nodes only: the benchmark measures the operators' cost per store, not containers.
  const sandbox = new Sandbox({ stateDir: join(repoRoot, '.sandbox', 'bench-operator'), realNode: false });
  await sandbox.down({ purge: true });
  await sandbox.up();
  const platform = new Platform(sandbox, {
    users: [tenant, admin],
    env: {
      LOG_LEVEL: 'warn',
      RATE_LIMIT_USER_PER_MINUTE: '1000000',
      RATE_LIMIT_IP_PER_MINUTE: '1000000',
      RATE_LIMIT_CREATES_PER_MINUTE: '1000000',
      QUOTA_OWNER_OVERRIDES: JSON.stringify({ bench: { maxActiveStores: 100000, maxCreatesPerHour: 100000 } }),
      QUOTA_MAX_ACTIVE_STORES: '100000',
      QUOTA_MAX_CREATES_PER_SOURCE_PER_HOUR: '100000',
    },
    output: () => undefined,
  });
  const peakRss = Object.fromEntries(SERVICES.map((s) => [s, 0])) as Record<ServiceName, number>;
  const sampler = setInterval(() => {
    for (const service of SERVICES) {
      peakRss[service] = Math.max(peakRss[service], residentMegabytes(platform.pidOf(service)) || 0);
    }
  }, 500);
  try {
    const { gatewayUrl } = await platform.start();
    const names = Array.from({ length: STORES }, (_, i) => `bench-${String(i).padStart(3, '0')}`);

    log.step(`requesting ${STORES} stores through the API, ${IN_FLIGHT} in flight`);
    const requestedAt = new Map<string, number>();
    const readyAfter = new Map<string, number>();
    const started = performance.now();
    await pool(names, IN_FLIGHT, async (name) => {
      requestedAt.set(name, performance.now());
      const res = await fetch(`${gatewayUrl}/api/v1/stores`, {
        method: 'POST',
        headers: headers(tenant),
        body: JSON.stringify({ name, engine: 'woocommerce' }),
      });
      if (res.status !== 202) throw new Error(`POST ${name}: ${res.status} ${await res.text()}`);
    });
    const list = async () =>
      ((await (await fetch(`${gatewayUrl}/api/v1/stores?limit=500`, { headers: headers(admin) })).json()) as Listed)
        .items;
    while (readyAfter.size < STORES) {
      if (performance.now() - started > TIMEOUT_MS) throw new Error(`only ${readyAfter.size} of ${STORES} Ready`);
      for (const store of await list()) {
        if (store.step === 'failed') throw new Error(`${store.name} failed`);
        if (store.step === 'ready' && !readyAfter.has(store.name)) {
          readyAfter.set(store.name, performance.now() - (requestedAt.get(store.name) ?? started));
        }
      }
      await sleep(100);
    }
    const allReadyMs = performance.now() - started;
    const perStore = [...readyAfter.values()];
    log.step(`all ${STORES} Ready in ${round(allReadyMs / 1000)}s`);
    const rssUnderLoad = { ...peakRss };

    // What the platform made for one store, to apply directly for the floor.
    const template = await capture(sandbox, 'bench-000');

    log.step(`deleting ${STORES} stores through the API`);
    const ids = (await list()).map((s) => s.id);
    const deleteStarted = performance.now();
    await pool(ids, IN_FLIGHT, async (id) => {
      await fetch(`${gatewayUrl}/api/v1/stores/${id}`, { method: 'DELETE', headers: headers(tenant) });
    });
    while ((await list()).length > 0) {
      if (performance.now() - deleteStarted > TIMEOUT_MS) throw new Error('stores still listed after the timeout');
      await sleep(200);
    }
    const allDeletedMs = performance.now() - deleteStarted;
    const leftovers = await leftoversOf(sandbox);
    log.step(`all deleted in ${round(allDeletedMs / 1000)}s; leftovers: ${JSON.stringify(leftovers)}`);
    await platform.stop();

    log.step(`floor: the same objects for ${STORES} stores applied directly with kubectl, ${IN_FLIGHT} at a time`);
    const floorNames = names.map((n) => n.replace('bench-', 'floor-'));
    const floorStarted = performance.now();
    await pool(floorNames, IN_FLIGHT, async (name) => {
      await sandbox.kubectl(['apply', '--server-side', '--field-manager=bench', '-f', '-'], template(name));
    });
    await waitForWorkloads(sandbox, floorNames.length, floorStarted);
    const floorReadyMs = performance.now() - floorStarted;
    const floorDeleteStarted = performance.now();
    await sandbox.kubectl(['delete', 'namespace', '--wait=true', ...floorNames.map((n) => `store-${n}`)]);
    const floorDeletedMs = performance.now() - floorDeleteStarted;

    const results = {
      machine: { cores: (await import('node:os')).cpus().length, node: process.version },
      stores: STORES,
      engine: 'woocommerce',
      inFlight: IN_FLIGHT,
      platform: {
        allReadyS: round(allReadyMs / 1000),
        timeToReadyS: { p50: round(percentile(perStore, 50) / 1000), p95: round(percentile(perStore, 95) / 1000) },
        allDeletedS: round(allDeletedMs / 1000),
        leftovers,
      },
      floor: { allReadyS: round(floorReadyMs / 1000), allDeletedS: round(floorDeletedMs / 1000) },
      ratio: { ready: round(allReadyMs / floorReadyMs, 2), delete: round(allDeletedMs / floorDeletedMs, 2) },
      peakRssMb: rssUnderLoad,
    };
    await publishResults('operator', results);
  } finally {
    clearInterval(sampler);
    await platform.stop();
    await sandbox.down({ purge: true });
  }
}

const RUNTIME_FIELDS = [
  'uid',
  'resourceVersion',
  'creationTimestamp',
  'managedFields',
  'generation',
  'ownerReferences',
];

/** The store's namespace and everything in it the platform and its chart made, as a template over the store name. */
async function capture(sandbox: Sandbox, name: string): Promise<(name: string) => string> {
  const ns = `store-${name}`;
  const kinds =
    'resourcequota,limitrange,networkpolicy,secret,configmap,service,persistentvolumeclaim,deployment,statefulset,job,ingress';
  const namespace = await sandbox.kubectl(['get', 'namespace', ns, '-o', 'yaml']);
  const objects = await sandbox.kubectl(['get', kinds, '-n', ns, '-o', 'yaml']);
  const items = [loadAllYaml(namespace)[0], ...(loadAllYaml(objects)[0] as { items: unknown[] }).items] as {
    kind: string;
    metadata: Record<string, unknown> & {
      name: string;
      labels?: Record<string, string>;
      annotations?: Record<string, string>;
    };
    spec?: Record<string, unknown>;
    status?: unknown;
  }[];
  const kept = items
    .filter((o) => o.metadata.name !== 'kube-root-ca.crt' && !o.metadata.name.startsWith('sh.helm.release'))
    .map((o) => {
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
    });
  const text = kept.map((o) => dumpYaml(o)).join('---\n');
  return (other) => text.replaceAll(name, other);
}

async function waitForWorkloads(sandbox: Sandbox, stores: number, started: number): Promise<void> {
  for (;;) {
    const { items } = JSON.parse(
      await sandbox.kubectl([
        'get',
        'deployment,statefulset,job',
        '-A',
        '-l',
        'app.kubernetes.io/part-of=urumi-store',
        '-o',
        'json',
      ]),
    ) as { items: { kind: string; spec: { replicas?: number }; status: Record<string, unknown> }[] };
    const done = items.filter((o) =>
      o.kind === 'Job'
        ? ((o.status['succeeded'] as number) ?? 0) > 0
        : ((o.status[o.kind === 'Deployment' ? 'availableReplicas' : 'readyReplicas'] as number) ?? 0) >=
          (o.spec.replicas ?? 1),
    ).length;
    if (items.length >= stores * 3 && done === items.length) return;
    if (performance.now() - started > TIMEOUT_MS) throw new Error(`floor: ${done} of ${items.length} workloads ready`);
    await sleep(200);
  }
}

async function leftoversOf(sandbox: Sandbox): Promise<Record<string, number>> {
  const count = async (args: string[]) =>
    (await sandbox.kubectl([...args, '-o', 'name'])).trim().split('\n').filter(Boolean).length;
  return {
    namespaces: await count(['get', 'namespace', '-l', 'app.kubernetes.io/managed-by=urumi']),
    stores: await count(['get', 'stores']),
    persistentVolumes: await count(['get', 'pv']),
  };
}

main().catch((error: unknown) => {
  console.error(`[bench] error: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
