import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadYaml } from '@kubernetes/client-node';
import WebSocket from 'ws';
import { formatDuration } from '../src/log';
import { ensureBaseImages } from '../src/images/ensure-images';
import { ensureMedusaStoreImages, MedusaStoreImagesBuilt } from '../src/images/medusa-images';
import { NODE_NAME } from '../src/node/plan';
import { RealNode } from '../src/node/real-node';
import { repoRoot } from '../src/paths';
import { Platform, SANDBOX_ENGINE_VALUES_DIR } from '../src/platform';
import { eventually } from '../src/testing/eventually';
import { MedusaShopper } from '../src/testing/medusa-shopper';
import { componentOf, storeMemory, StorePod as Pod, storeTimings } from '../src/testing/store-costs';
import { testSandbox } from '../src/testing/test-sandbox';
import { SeededUser } from '../src/tokens';
import { ensureToolchain } from '../src/toolchain';

// Images are built (minutes cold), and a real Medusa store migrates, seeds and starts on the real node.
jest.setTimeout(30 * 60_000);

const tenant: SeededUser = { name: 'mira', role: 'tenant', token: 'mira-medusa-store-test-token-00' };
const STORE = 'real-medusa';
/** The store's pods by component (app.kubernetes.io/component), as charts/store-medusa makes them. */
const COMPONENTS = ['database', 'redis', 'server', 'setup', 'worker'];

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}
interface StoreView {
  id: string;
  step: string;
  url: string;
  namespace: string;
  message?: string;
  conditions: Condition[];
}
type LiveMessage =
  { type: 'snapshot'; stores: StoreView[] } | { type: 'store'; store: StoreView } | { type: 'deleted' };
interface Event {
  reason: string;
  message: string;
}

const numbers: string[] = [];
const say = (line: string) => {
  numbers.push(line);
  process.stdout.write(`[medusa-store] ${line}\n`);
};
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

/**
 * Issue 13, items 4 and 6: a Medusa store requested through the API runs for real on the real node — PostgreSQL,
 * Redis, the setup Job, server and worker as containers under the namespace's fence — and a shopper orders through the
 * ingress controller at the store's URL; DELETE leaves nothing of it on the node.
 */
describe('a Medusa store on the real node', () => {
  const sandbox = testSandbox();
  const kubectl = (...args: string[]) => sandbox.kubectl(args);
  const kubeJson = async <T>(...args: string[]) => JSON.parse(await kubectl(...args, '-o', 'json')) as T;
  let node: RealNode;
  let images: MedusaStoreImagesBuilt;
  let gatewayUrl = '';
  let ingressPort = 0;
  let storeId = '';
  let view: StoreView;
  let readyMs = 0;
  let volumesDir = '';
  const platformLogs: string[] = [];

  const platform = new Platform(sandbox, {
    users: [tenant],
    env: {
      LOG_LEVEL: 'info',
      RESYNC_SECONDS: '5',
      SWEEP_SECONDS: '2',
      PROVISION_TIMEOUT_SECONDS: '1500',
    },
    // Medusa's images from the local registry and its pods on the real node; WooCommerce kept on KWOK.
    realStores: true,
    output: (line) => platformLogs.push(line),
  });

  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${gatewayUrl}${path}`, {
      method,
      headers: { Authorization: `Bearer ${tenant.token}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as StoreView };
  };
  const storePods = async () =>
    (await kubeJson<{ items: Pod[] }>('get', 'pods', '-n', `store-${STORE}`)).items.filter(
      (p) => p.metadata.labels['app.kubernetes.io/part-of'] === 'urumi-store',
    );

  beforeAll(async () => {
    node = await sandbox.realNode();
    ingressPort = (await sandbox.ports()).ingress;
    volumesDir = join(node.plan.dir, 'volumes');
    // `up` built them already: this finds them up to date (and says so), or tells how long a rebuild took.
    const toolchain = await ensureToolchain();
    images = await sandbox.withImageBuilder(async (builder) =>
      ensureMedusaStoreImages(builder, toolchain, await ensureBaseImages(builder)),
    );
    for (const [name, built] of Object.entries(images.built)) {
      say(`image ${name}: ${built.upToDate ? 'up to date' : 'built'} in ${formatDuration(built.ms)}`);
    }
    ({ gatewayUrl } = await platform.start());
  });

  afterAll(async () => {
    await platform.stop();
    if (numbers.length) process.stdout.write(`[medusa-store] numbers:\n  ${numbers.join('\n  ')}\n`);
  });

  it("points the chart at exactly the images it built, through the sandbox's engine-values overlay", () => {
    const overlay = loadYaml<{
      image: { repository: string };
      postgres: { image: { repository: string; tag: string } };
      redis: { image: { repository: string; tag: string } };
    }>(readFileSync(join(SANDBOX_ENGINE_VALUES_DIR, 'medusa.yaml'), 'utf8'));
    const chartTag = /^ {2}tag: (\S+)/m.exec(readFileSync(join(repoRoot, 'charts/store-medusa/values.yaml'), 'utf8'));
    expect([
      `${overlay.image.repository}:${chartTag?.[1]}`,
      `${overlay.postgres.image.repository}:${overlay.postgres.image.tag}`,
      `${overlay.redis.image.repository}:${overlay.redis.image.tag}`,
    ]).toEqual([images.images.store, images.images.postgresql, images.images.redis]);
  });

  it('becomes Ready with every container running on the real node, inside the namespace fence', async () => {
    const requested = Date.now();
    const created = await api('POST', '/api/v1/stores', { name: STORE, engine: 'medusa' });
    expect(created.status).toBe(202);
    storeId = created.body.id;
    view = await eventually(
      async () => {
        const { body } = await api('GET', `/api/v1/stores/${storeId}`);
        if (body.step === 'failed') throw new Error(`the store failed: ${body.message}`);
        expect(body.step).toBe('ready');
        return body;
      },
      25 * 60_000,
      1000,
    ).catch(async (error: Error) => {
      const pods = await kubectl('get', 'pods,pvc,events', '-n', `store-${STORE}`).catch((e: Error) => e.message);
      throw new Error(`${error.message}\n${pods}\n${platformLogs.slice(-30).join('\n')}`);
    });
    readyMs = Date.now() - requested;
    expect(view.namespace).toBe(`store-${STORE}`);

    const pods = await storePods();
    expect([...new Set(pods.map(componentOf))].sort()).toEqual(COMPONENTS);
    expect(pods.map((p) => `${p.metadata.name} on ${p.spec.nodeName}`)).toEqual(
      pods.map((p) => `${p.metadata.name} on ${NODE_NAME}`),
    );
    const ready = (p: Pod) => p.status.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
    expect(pods.map((p) => [componentOf(p), componentOf(p) === 'setup' ? p.status.phase : ready(p)]).sort()).toEqual(
      COMPONENTS.map((c) => [c, c === 'setup' ? 'Succeeded' : true]),
    );

    const ns = await kubeJson<{ metadata: { labels: Record<string, string> } }>('get', 'namespace', view.namespace);
    expect(ns.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
    const fence = await kubectl('get', 'resourcequota,limitrange,networkpolicy', '-n', view.namespace, '-o', 'name');
    expect(fence.trim().split('\n').sort()).toEqual([
      'limitrange/store-limits',
      'networkpolicy.networking.k8s.io/allow-dns',
      'networkpolicy.networking.k8s.io/allow-ingress-controller',
      'networkpolicy.networking.k8s.io/allow-same-store',
      'networkpolicy.networking.k8s.io/default-deny',
      'resourcequota/store-quota',
    ]);

    // The share of the wait: image pulls (the kubelet's events), and the setup Job's steps (its containers' times).
    const events = await kubeJson<{ items: Event[] }>('get', 'events', '-n', view.namespace);
    const timings = storeTimings(
      pods,
      events.items.filter((e) => e.reason === 'Pulled').map((e) => e.message),
    );
    say(`POST → Ready: ${formatDuration(readyMs)}`);
    for (const [image, ms] of Object.entries(timings.pulls))
      say(`image pull ${image}: ${formatDuration(ms)} (${ms} ms)`);
    for (const [name, ms] of Object.entries(timings.setup)) say(`setup ${name}: ${formatDuration(ms)}`);
    say(`server: container start → Ready ${formatDuration(timings.serverStartToReady)}`);
  });

  it("takes a shopper's order through the ingress controller at the store's URL", async () => {
    const url = new URL(view.url);
    expect(url.hostname).toBe(`${STORE}.127.0.0.1.nip.io`);
    // The store's name resolved to the controller's loopback address, as nip.io answers it.
    const shopper = new MedusaShopper({ url: `http://${url.hostname}:${ingressPort}`, resolveTo: '127.0.0.1' }, () =>
      kubectl('logs', '-n', view.namespace, 'deployment/store-server', '--tail=30').catch((e: Error) => e.message),
    );
    const storefront = await shopper.page('/');
    expect([storefront.status, storefront.body]).toEqual([200, expect.stringContaining('/storefront/config')]);
    const publishableKey = await shopper.publishableKey();
    expect(publishableKey).toMatch(/^pk_/);

    const placed = await shopper.placeOrder(publishableKey);
    const password = Buffer.from(
      await kubectl(
        'get',
        'secret',
        'store-credentials',
        '-n',
        view.namespace,
        '-o',
        'jsonpath={.data.admin-password}',
      ),
      'base64',
    ).toString();
    const { order, reservations } = await shopper.adminView({ email: `admin@${url.hostname}`, password }, placed);
    expect(order).toMatchObject({ id: placed.orderId, email: 'ada@example.com', total: 50 });
    expect(order.items).toEqual([expect.objectContaining({ variant_sku: 'URUMI-TEE-M', quantity: 2 })]);
    expect(reservations).toEqual([expect.objectContaining({ line_item_id: order.items[0]!.id, quantity: 2 })]);
    say(`order flow through the ingress controller: ${formatDuration(placed.ms)} (${placed.ms} ms)`);

    // What the store costs on the node: each running container's memory cgroup after the order.
    const memory = storeMemory(node, await storePods());
    for (const [container, { rss, usage }] of Object.entries(memory)) {
      say(`${container}: RSS ${mib(rss)}, usage ${mib(usage)}`);
    }
    const total = Object.values(memory).reduce((sum, { rss }) => sum + rss, 0);
    say(`the store's RSS in all: ${mib(total)}`);
    expect(total).toBeGreaterThan(0);
  });

  it('keeps a WooCommerce store on the KWOK nodes (its image cannot be built here), its volumes bound all the same', async () => {
    const created = await api('POST', '/api/v1/stores', { name: 'kwok-woo', engine: 'woocommerce' });
    expect(created.status).toBe(202);
    const woo = await eventually(
      async () => {
        const { body } = await api('GET', `/api/v1/stores/${created.body.id}`);
        if (body.step === 'failed') throw new Error(`the store failed: ${body.message}`);
        expect(body.step).toBe('ready');
        return body;
      },
      5 * 60_000,
      1000,
    );
    const pods = (await kubeJson<{ items: Pod[] }>('get', 'pods', '-n', woo.namespace)).items;
    expect(pods.length).toBeGreaterThan(0);
    expect(pods.filter((p) => !p.spec.nodeName?.startsWith('kwok-node-')).map((p) => p.metadata.name)).toEqual([]);
    const claims = await kubeJson<{ items: { status: { phase: string } }[] }>('get', 'pvc', '-n', woo.namespace);
    expect(claims.items.map((c) => c.status.phase)).toEqual(claims.items.map(() => 'Bound'));
    expect((await api('DELETE', `/api/v1/stores/${created.body.id}`)).status).toBe(202);
    await eventually(
      async () => expect(await kubectl('get', 'namespace', '--ignore-not-found', '-o', 'name', woo.namespace)).toBe(''),
      5 * 60_000,
      500,
    );
  });

  it('turns Degraded, naming the Deployment and its missing replica, when its server pod goes, and Ready again with the new pod', async () => {
    const degradedOf = (store: StoreView) => store.conditions.find((c) => c.type === 'Degraded');
    // What a console sees: every Degraded status the WebSocket pushes for the store, from its snapshot on.
    const pushed: string[] = [];
    const live = new WebSocket(`${gatewayUrl.replace(/^http/, 'ws')}/api/v1/live`, ['urumi.v1'], {
      headers: { Authorization: `Bearer ${tenant.token}` },
    });
    live.on('message', (data: Buffer) => {
      const message = JSON.parse(data.toString('utf8')) as LiveMessage;
      const stores = message.type === 'snapshot' ? message.stores : message.type === 'store' ? [message.store] : [];
      for (const store of stores.filter((s) => s.id === storeId)) {
        const status = `${store.step}, Degraded ${degradedOf(store)?.status}`;
        if (pushed.at(-1) !== status) pushed.push(status);
      }
    });
    try {
      await eventually(() => expect(pushed).toEqual(['ready, Degraded False']), 10_000, 100);
      const [server] = (await storePods()).filter((p) => componentOf(p) === 'server');
      const deleted = Date.now();
      await kubectl('delete', 'pod', server!.metadata.name, '-n', view.namespace, '--wait=false');

      const degraded = await eventually(
        async () => {
          const { body } = await api('GET', `/api/v1/stores/${storeId}`);
          expect([body.step, degradedOf(body)?.status]).toEqual(['ready', 'True']);
          return degradedOf(body)!;
        },
        60_000,
        250,
      );
      expect(degraded).toMatchObject({
        reason: 'WorkloadUnavailable',
        message: expect.stringContaining('Deployment store-server: 1 of 1 replicas unavailable'),
      });

      await eventually(
        async () => {
          const { body } = await api('GET', `/api/v1/stores/${storeId}`);
          expect([body.step, degradedOf(body)?.status]).toEqual(['ready', 'False']);
        },
        3 * 60_000,
        500,
      ).catch(async (error: Error) => {
        const pods = await kubectl('get', 'pods,events', '-n', view.namespace).catch((e: Error) => e.message);
        throw new Error(`${error.message}\n${pods}\n${platformLogs.slice(-30).join('\n')}`);
      });
      say(`server pod deleted → Ready again: ${formatDuration(Date.now() - deleted)}`);
      const ready = (p: Pod) => p.status.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
      const replacements = (await storePods()).filter(
        (p) => componentOf(p) === 'server' && p.metadata.name !== server!.metadata.name,
      );
      expect(replacements.map(ready)).toEqual([true]);
      await eventually(
        () => expect(pushed).toEqual(['ready, Degraded False', 'ready, Degraded True', 'ready, Degraded False']),
        10_000,
        100,
      );
    } finally {
      live.close();
    }
  });

  it('DELETE leaves no namespace, release, volume, folder or container of the store on the node', async () => {
    const namespace = view.namespace;
    const pvs = (
      await kubeJson<{
        items: {
          metadata: { name: string };
          spec: { claimRef?: { namespace: string }; hostPath?: { path: string } };
        }[];
      }>('get', 'pv')
    ).items.filter((pv) => pv.spec.claimRef?.namespace === namespace);
    const folders = pvs.map((pv) => pv.spec.hostPath?.path ?? '');
    expect(folders.map((f) => f.startsWith(`${volumesDir}/`) && existsSync(f))).toEqual([true]);
    const containers = () => node.containerIds(namespace);
    expect((await containers()).length).toBeGreaterThanOrEqual(COMPONENTS.length);

    const deleted = Date.now();
    expect((await api('DELETE', `/api/v1/stores/${storeId}`)).status).toBe(202);
    await eventually(
      async () => expect((await api('GET', `/api/v1/stores/${storeId}`)).status).toBe(404),
      5 * 60_000,
      500,
    );
    await eventually(
      async () => expect(await kubectl('get', 'namespace', '--ignore-not-found', '-o', 'name', namespace)).toBe(''),
      5 * 60_000,
      500,
    );
    say(`DELETE → namespace gone: ${formatDuration(Date.now() - deleted)}`);
    await eventually(
      async () => {
        const left = await kubectl(
          'get',
          'pv',
          '--ignore-not-found',
          '-o',
          'name',
          ...pvs.map((pv) => pv.metadata.name),
        );
        expect([left.trim(), folders.filter((f) => existsSync(f))]).toEqual(['', []]);
      },
      2 * 60_000,
      500,
    );
    const onNode = await kubectl('get', 'pods', '-A', '--field-selector', `spec.nodeName=${NODE_NAME}`, '-o', 'json');
    const left = (JSON.parse(onNode) as { items: Pod[] }).items.filter((p) => p.metadata.namespace === namespace);
    expect(left.map((p) => p.metadata.name)).toEqual([]);
    await eventually(async () => expect(await containers()).toEqual([]), 60_000, 500);
    expect(await sandbox.helm(['list', '-n', namespace, '-q'])).toBe('');
  });
});
