import { log } from '../log';
import { RealNode } from '../node/real-node';
import { Platform } from '../platform';
import { Sandbox } from '../sandbox';
import { MedusaShopper } from '../testing/medusa-shopper';
import { storeMemory, StorePod, storeTimings, StoreTimings } from '../testing/store-costs';
import { SeededUser } from '../tokens';
import { round } from './stats';

const READY_TIMEOUT_MS = 30 * 60_000;
const tenant: SeededUser = { name: 'bench-medusa', role: 'tenant', token: 'bench-medusa-tenant-token-00000' };

interface StoreView {
  id: string;
  step: string;
  url: string;
  namespace: string;
  message?: string;
}

/** One store's wait from POST to Ready, and where it went (seconds). */
interface StoreReady {
  readonly name: string;
  readonly postToReadySeconds: number;
  readonly imagePullSeconds: Record<string, number>;
  readonly setupSeconds: Record<keyof StoreTimings['setup'], number>;
  readonly serverStartToReadySeconds: number;
}

const seconds = (ms: number) => round(ms / 1000);
const megabytes = (bytes: number) => round(bytes / 2 ** 20);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Real Medusa stores on the sandbox's real node, requested through the platform's API: one alone (pulling the store
 * images from the local registry, as a fresh node does), then three at once (on images the node now has, as a node
 * already running stores does); the order flow through the ingress controller and the store's resident memory
 * after it; DELETE to namespace gone.
 */
export async function benchMedusaStores(sandbox: Sandbox, node: RealNode) {
  const ingressPort = (await sandbox.ports()).ingress;
  const platform = new Platform(sandbox, {
    users: [tenant],
    env: {
      LOG_LEVEL: 'warn',
      RESYNC_SECONDS: '5',
      SWEEP_SECONDS: '2',
      PROVISION_TIMEOUT_SECONDS: '1800',
      // The benchmark polls each store every second, and requests the next stores as soon as the last are gone
      // (before quota has counted them out).
      RATE_LIMIT_USER_PER_MINUTE: '100000',
      QUOTA_MAX_ACTIVE_STORES_PER_OWNER: '10',
    },
    realStores: true,
    output: () => undefined,
  });
  const { gatewayUrl } = await platform.start();
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${gatewayUrl}${path}`, {
      method,
      headers: { Authorization: `Bearer ${tenant.token}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (res.status >= 400) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as StoreView;
  };
  const kubeJson = async <T>(...args: string[]) => JSON.parse(await sandbox.kubectl([...args, '-o', 'json'])) as T;

  /** Requests the stores at once and waits for all of them; then reads where each one's wait went. */
  const createStores = async (names: readonly string[]): Promise<{ stores: StoreReady[]; views: StoreView[] }> => {
    log.step(`requesting ${names.length} Medusa store(s): ${names.join(', ')}`);
    const requests = await Promise.all(
      names.map(async (name) => {
        const requestedAt = Date.now();
        return { name, requestedAt, readyAt: 0, view: await api('POST', '/api/v1/stores', { name, engine: 'medusa' }) };
      }),
    );
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (let waiting = requests; waiting.length; waiting = waiting.filter((r) => !r.readyAt)) {
      if (Date.now() > deadline) throw new Error(`not Ready after ${READY_TIMEOUT_MS / 60_000} min`);
      for (const request of waiting) {
        const now = await api('GET', `/api/v1/stores/${request.view.id}`);
        if (now.step === 'failed' || now.step === 'rejected') {
          throw new Error(`store ${request.name} ${now.step}: ${now.message}`);
        }
        if (now.step !== 'ready') continue;
        Object.assign(request, { readyAt: Date.now(), view: now });
        log.step(`store ${request.name} Ready`);
      }
      await sleep(1000);
    }
    const stores: StoreReady[] = [];
    for (const { name, requestedAt, readyAt, view } of requests) {
      const pods = (await kubeJson<{ items: StorePod[] }>('get', 'pods', '-n', view.namespace)).items;
      const events = await kubeJson<{ items: { reason: string; message: string }[] }>(
        'get',
        'events',
        '-n',
        view.namespace,
      );
      const t = storeTimings(
        pods,
        events.items.filter((e) => e.reason === 'Pulled').map((e) => e.message),
      );
      stores.push({
        name,
        postToReadySeconds: seconds(readyAt - requestedAt),
        imagePullSeconds: Object.fromEntries(Object.entries(t.pulls).map(([image, ms]) => [image, seconds(ms)])),
        setupSeconds: { migrate: seconds(t.setup.migrate), admin: seconds(t.setup.admin), seed: seconds(t.setup.seed) },
        serverStartToReadySeconds: seconds(t.serverStartToReady),
      });
    }
    return { stores, views: requests.map((r) => r.view) };
  };

  const deleteStores = async (views: readonly StoreView[]) => {
    const started = Date.now();
    await Promise.all(views.map((v) => api('DELETE', `/api/v1/stores/${v.id}`)));
    for (const view of views) {
      while (await sandbox.kubectl(['get', 'namespace', '--ignore-not-found', '-o', 'name', view.namespace]))
        await sleep(500);
    }
    return seconds(Date.now() - started);
  };

  try {
    const one = await createStores(['bench-solo']);
    const [view] = one.views;
    if (!view) throw new Error('no store was created');
    const host = new URL(view.url).hostname;
    const shopper = new MedusaShopper({ url: `http://${host}:${ingressPort}`, resolveTo: '127.0.0.1' });
    log.step('a shopper orders through the ingress controller');
    const placed = await shopper.placeOrder(await shopper.publishableKey());
    const pods = (await kubeJson<{ items: StorePod[] }>('get', 'pods', '-n', view.namespace)).items;
    const memory = storeMemory(node, pods);
    const soloDeleteSeconds = await deleteStores(one.views);

    const three = await createStores(['bench-a', 'bench-b', 'bench-c']);
    const threeDeleteSeconds = await deleteStores(three.views);
    return {
      one: one.stores[0],
      orderFlowThroughIngressSeconds: seconds(placed.ms),
      storeResidentMegabytes: {
        ...Object.fromEntries(Object.entries(memory).map(([container, { rss }]) => [container, megabytes(rss)])),
        total: megabytes(Object.values(memory).reduce((sum, { rss }) => sum + rss, 0)),
      },
      deleteToNamespaceGoneSeconds: soloDeleteSeconds,
      threeAtOnce: {
        lastReadySeconds: Math.max(...three.stores.map((s) => s.postToReadySeconds)),
        stores: three.stores,
        deleteToNamespacesGoneSeconds: threeDeleteSeconds,
      },
    };
  } finally {
    await platform.stop();
  }
}
