import type { V1ConfigMap } from '@kubernetes/client-node';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, KV, StringCodec } from 'nats';
import { CommandError } from '../src/exec';
import { repoRoot } from '../src/paths';
import { Platform, PLATFORM_NAMESPACE } from '../src/platform';
import { eventually } from '../src/testing/eventually';
import { testSandbox } from '../src/testing/test-sandbox';
import { SeededUser } from '../src/tokens';

jest.setTimeout(300_000);

const users: SeededUser[] = [
  { name: 'olga', role: 'admin', token: 'olga-operator-test-token-000000' },
  { name: 'paul', role: 'tenant', token: 'paul-operator-test-token-000000' },
  { name: 'rita', role: 'tenant', token: 'rita-operator-test-token-000000' },
  { name: 'sam', role: 'tenant', token: 'sam-operator-test-token-0000000' },
  { name: 'fay', role: 'tenant', token: 'fay-operator-test-token-0000000' },
  { name: 'lena', role: 'tenant', token: 'lena-operator-test-token-000000' },
];

interface StoreView {
  id: string;
  name: string;
  step: string;
  reason?: string;
  message?: string;
  history: { step: string }[];
  conditions: { type: string; status: string; reason: string }[];
}

interface KubeList<T> {
  items: T[];
}
interface NetworkPolicy {
  metadata: { name: string };
  spec: {
    podSelector: { matchLabels?: Record<string, string> };
    policyTypes: string[];
    ingress?: { from?: Record<string, unknown>[] }[];
    egress?: { to?: Record<string, unknown>[]; ports?: { port: number }[] }[];
  };
}

/**
 * The whole back end on the sandbox cluster, every service a process under its own identity: a store
 * requested through the API becomes a fenced namespace with its engine, Ready; deleting it leaves
 * nothing. The provisioner and cleanup run as their ServiceAccounts, with the chart's RBAC.
 */
describe('the store operator (provisioner and cleanup)', () => {
  const sandbox = testSandbox();
  const logs: string[] = [];
  const sut = new Platform(sandbox, {
    users,
    env: {
      LOG_LEVEL: 'info',
      QUOTA_MAX_CREATES_PER_SOURCE_PER_HOUR: '100000',
      QUOTA_MAX_ACTIVE_STORES: '100000',
      QUOTA_OWNER_OVERRIDES: JSON.stringify({
        sam: { maxActiveStores: 50, maxCreatesPerHour: 50 },
        fay: { maxActiveStores: 1, maxCreatesPerHour: 50 },
        lena: { maxActiveStores: 10, maxCreatesPerHour: 50 },
      }),
      // The tests poll the API; rate limits have tests of their own.
      RATE_LIMIT_CREATES_PER_MINUTE: '100000',
      RATE_LIMIT_USER_PER_MINUTE: '100000',
      RATE_LIMIT_IP_PER_MINUTE: '100000',
      RESYNC_SECONDS: '5',
      SWEEP_SECONDS: '2',
      ORPHAN_GRACE_SECONDS: '0',
      TEARDOWN_STUCK_SECONDS: '20',
      // A release a crash left pending is recovered after this long (production: 30 s).
      HELM_STALE_LOCK_SECONDS: '3',
    },
    output: (line) => logs.push(line),
  });
  let gatewayUrl = '';
  const kubectl = (...args: string[]) => sandbox.kubectl(args);
  const kubeJson = async <T>(...args: string[]) => JSON.parse(await kubectl(...args, '-o', 'json')) as T;

  const api = async (user: string, method: string, path: string, body?: unknown) => {
    const token = users.find((u) => u.name === user)!.token;
    const res = await fetch(`${gatewayUrl}${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, text, body: (text ? JSON.parse(text) : undefined) as StoreView };
  };
  const create = async (user: string, name: string, engine = 'woocommerce') => {
    const res = await api(user, 'POST', '/api/v1/stores', { name, engine });
    expect(res.status).toBe(202);
    return res.body.id;
  };
  const untilStep = (user: string, id: string, step: string, timeoutMs = 60_000) =>
    eventually(
      async () => {
        const { status, body } = await api(user, 'GET', `/api/v1/stores/${id}`);
        expect([status, body.step]).toEqual([200, step]);
        return body;
      },
      timeoutMs,
      250,
    );
  const untilGone = (user: string, id: string) =>
    eventually(async () => expect((await api(user, 'GET', `/api/v1/stores/${id}`)).status).toBe(404), 90_000, 250);
  const namespaceExists = async (name: string) =>
    (await kubectl('get', 'namespace', '--ignore-not-found', '-o', 'name', name)).trim() !== '';

  beforeAll(async () => {
    ({ gatewayUrl } = await sut.start());
  });

  afterAll(async () => {
    await sut.stop();
    // The services' own account of the run, for whoever investigates a failure.
    await mkdir(join(repoRoot, '.sandbox', 'logs'), { recursive: true });
    await writeFile(join(repoRoot, '.sandbox', 'logs', 'operator-test.log'), `${logs.join('\n')}\n`);
  });

  describe('a WooCommerce store, created and deleted', () => {
    let id = '';
    const ns = 'store-fashion-boutique';

    beforeAll(async () => {
      id = await create('paul', 'fashion-boutique');
    });

    it('reaches Ready through each step, recorded in the Store and pushed to the read model', async () => {
      const store = await untilStep('paul', id, 'ready');
      expect(store.history.map((h) => h.step)).toEqual([
        'queued',
        'approved',
        'namespace-ready',
        'secrets-ready',
        'workload-installed',
        'ready',
      ]);
      const cr = await kubeJson<{
        spec: { storeId: string; owner: string; engine: string };
        metadata: { finalizers: string[] };
        status: { phase: string; conditions: { type: string; status: string }[]; history: unknown[] };
      }>('get', 'store', 'fashion-boutique');
      expect(cr.spec).toMatchObject({ storeId: id, owner: 'paul', engine: 'woocommerce' });
      expect(cr.metadata.finalizers).toEqual(['urumi.dev/teardown']);
      expect(cr.status.phase).toBe('Ready');
      expect(Object.fromEntries(cr.status.conditions.map((c) => [c.type, c.status]))).toEqual({
        Ready: 'True',
        Progressing: 'False',
        Degraded: 'False',
      });
    });

    it('fences the namespace: Pod Security, quota, limits, network policies, an Ingress', async () => {
      const namespace = await kubeJson<{ metadata: { labels: Record<string, string> } }>('get', 'namespace', ns);
      expect(namespace.metadata.labels).toMatchObject({
        'pod-security.kubernetes.io/enforce': 'baseline',
        'urumi.dev/store-id': id,
        'app.kubernetes.io/managed-by': 'urumi',
      });
      const quota = await kubeJson<{ spec: { hard: Record<string, string> } }>(
        'get',
        'resourcequota',
        'store-quota',
        '-n',
        ns,
      );
      expect(quota.spec.hard).toMatchObject({
        'requests.cpu': '1',
        'limits.memory': '4Gi',
        'requests.storage': '10Gi',
        pods: '10',
      });
      const limits = await kubeJson<{ spec: { limits: { type: string; max?: { storage: string } }[] } }>(
        'get',
        'limitrange',
        'store-limits',
        '-n',
        ns,
      );
      expect(limits.spec.limits.find((l) => l.type === 'PersistentVolumeClaim')?.max?.storage).toBe('5Gi');
      const ingress = await kubeJson<{ spec: { rules: { host: string }[] } }>('get', 'ingress', 'storefront', '-n', ns);
      expect(ingress.spec.rules[0]?.host).toBe('fashion-boutique.127.0.0.1.nip.io');
      const pvcs = await kubeJson<KubeList<{ status: { phase: string } }>>('get', 'pvc', '-n', ns);
      expect(pvcs.items.length).toBeGreaterThan(0);
      expect(pvcs.items.every((p) => p.status.phase === 'Bound')).toBe(true);
    });

    it('isolates the store: its policies allow only DNS, itself, and the ingress controller to its web pods', async () => {
      const { items } = await kubeJson<KubeList<NetworkPolicy>>('get', 'networkpolicy', '-n', ns);
      const byName = new Map(items.map((p) => [p.metadata.name, p.spec]));
      expect([...byName.keys()].sort()).toEqual([
        'allow-dns',
        'allow-ingress-controller',
        'allow-same-store',
        'default-deny',
      ]);
      expect(byName.get('default-deny')).toMatchObject({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
      // Every peer any policy allows is: this namespace's pods, kube-dns on port 53, or the ingress controller's pods.
      for (const spec of items.map((p) => p.spec)) {
        for (const rule of spec.ingress ?? []) {
          for (const peer of rule.from ?? []) {
            expect([
              { podSelector: {} },
              {
                namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'traefik' } },
                podSelector: { matchLabels: { 'app.kubernetes.io/name': 'traefik' } },
              },
            ]).toContainEqual(peer);
          }
        }
        for (const rule of spec.egress ?? []) {
          for (const peer of rule.to ?? []) {
            if ('namespaceSelector' in peer) {
              expect(peer).toEqual({
                namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
                podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
              });
              expect(rule.ports?.map((p) => p.port)).toEqual([53, 53]);
            } else {
              expect(peer).toEqual({ podSelector: {} });
            }
            expect(peer).not.toHaveProperty('ipBlock');
          }
        }
      }
      expect(byName.get('allow-ingress-controller')?.podSelector).toEqual({ matchLabels: { 'urumi.dev/role': 'web' } });
    });

    it('restores a ResourceQuota or NetworkPolicy deleted by hand', async () => {
      await kubectl('delete', 'resourcequota', 'store-quota', '-n', ns);
      await kubectl('delete', 'networkpolicy', 'default-deny', '-n', ns);
      await eventually(
        async () => {
          expect(await kubectl('get', 'resourcequota,networkpolicy', '-n', ns, '-o', 'name')).toContain(
            'resourcequota/store-quota',
          );
          expect(await kubectl('get', 'networkpolicy', 'default-deny', '-n', ns, '-o', 'name')).toContain(
            'default-deny',
          );
        },
        30_000,
        250,
      );
    });

    it('never shows a credential: not in the API, the Store, events, NATS messages or logs', async () => {
      const secret = await kubeJson<{ data: Record<string, string> }>('get', 'secret', 'store-credentials', '-n', ns);
      const values = Object.values(secret.data).map((v) => Buffer.from(v, 'base64').toString());
      expect(values).toHaveLength(3);
      const { url, user, password } = sut.nats;
      const nats = await connect({ servers: url, user, pass: password });
      const messages: string[] = [];
      try {
        const jsm = await nats.jetstreamManager();
        const { state } = await jsm.streams.info('STORES');
        for (let seq = state.first_seq; seq <= state.last_seq; seq++) {
          const message = await jsm.streams.getMessage('STORES', { seq }).catch(() => undefined);
          if (message) messages.push(StringCodec().decode(message.data));
        }
      } finally {
        await nats.close();
      }
      const seen = [
        (await api('paul', 'GET', `/api/v1/stores/${id}`)).text,
        (await api('olga', 'GET', '/api/v1/stores')).text,
        await kubectl('get', 'store', 'fashion-boutique', '-o', 'json'),
        await kubectl('get', 'events', '-A', '-o', 'json'),
        ...messages,
        ...logs,
      ].join('\n');
      expect(messages.length).toBeGreaterThan(0);
      for (const value of values) expect(seen).not.toContain(value);
    });

    it('deletes everything: namespace, volumes, secrets, Helm release, Store, quota slot', async () => {
      const volumes = async () =>
        (await kubeJson<KubeList<{ spec: { claimRef?: { namespace: string } } }>>('get', 'pv')).items.filter(
          (pv) => pv.spec.claimRef?.namespace === ns,
        );
      expect((await volumes()).length).toBeGreaterThan(0);
      expect((await api('paul', 'DELETE', `/api/v1/stores/${id}`)).status).toBe(202);
      await untilGone('paul', id);
      expect(await namespaceExists(ns)).toBe(false);
      expect((await kubectl('get', 'store', '--ignore-not-found', '-o', 'name', 'fashion-boutique')).trim()).toBe('');
      await eventually(async () => expect(await volumes()).toEqual([]), 30_000, 250);
      // The slot is free again: paul can have three more active stores.
      const ids = [
        await create('paul', 'boutique-a'),
        await create('paul', 'boutique-b'),
        await create('paul', 'boutique-c'),
      ];
      for (const more of ids) await untilStep('paul', more, 'ready');
      for (const more of ids) await api('paul', 'DELETE', `/api/v1/stores/${more}`);
      for (const more of ids) await untilGone('paul', more);
    });
  });

  it('a store deleted while it is being provisioned ends Deleted with nothing left', async () => {
    const id = await create('rita', 'hasty-shop', 'medusa');
    expect((await api('rita', 'DELETE', `/api/v1/stores/${id}`)).status).toBe(202);
    await untilGone('rita', id);
    await eventually(async () => expect(await namespaceExists('store-hasty-shop')).toBe(false), 30_000, 250);
    // A Store the provisioner made just after the delete was settled goes straight to teardown, and then goes too.
    await eventually(
      async () =>
        expect((await kubectl('get', 'store', '--ignore-not-found', '-o', 'name', 'hasty-shop')).trim()).toBe(''),
      30_000,
      250,
    );
  });

  it('the same name can be created again right after a delete', async () => {
    const first = await create('rita', 'second-life');
    await untilStep('rita', first, 'ready');
    await api('rita', 'DELETE', `/api/v1/stores/${first}`);
    const second = await eventually(
      async () => {
        const res = await api('rita', 'POST', '/api/v1/stores', { name: 'second-life', engine: 'medusa' });
        expect(res.status).toBe(202);
        return res.body.id;
      },
      90_000,
      250,
    );
    await untilStep('rita', second, 'ready', 90_000);
    const cr = await kubeJson<{ spec: { storeId: string; engine: string } }>('get', 'store', 'second-life');
    expect(cr.spec).toEqual(expect.objectContaining({ storeId: second, engine: 'medusa' }));
    const namespace = await kubeJson<{ metadata: { labels: Record<string, string> } }>(
      'get',
      'namespace',
      'store-second-life',
    );
    expect(namespace.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
    await api('rita', 'DELETE', `/api/v1/stores/${second}`);
    await untilGone('rita', second);
  });

  it('a provisioner killed (SIGKILL) at random moments during 20 creations converges: all Ready, one of everything', async () => {
    const names = Array.from({ length: 20 }, (_, i) => `crash-${i}`);
    const ids = await Promise.all(names.map((name) => create('sam', name)));
    let firstRelaunchAt = -1;
    for (let kill = 0; kill < 4; kill++) {
      await sleep(200 + Math.random() * 1500);
      await sut.kill('provisioner');
      if (firstRelaunchAt < 0) firstRelaunchAt = logs.length;
      await sut.launch('provisioner');
    }
    for (const id of ids) await untilStep('sam', id, 'ready', 120_000);
    // Provisioners started after a crash did the work: they took stores to Ready that the killed ones had not.
    const readyLines = logs.filter((line) => line.startsWith('[provisioner]') && line.includes('"msg":"Store ready"'));
    const readyAfterACrash = readyLines.filter((line) => logs.indexOf(line) >= firstRelaunchAt);
    expect(readyAfterACrash.length).toBeGreaterThan(0);
    for (const name of names) expect(readyLines.some((line) => line.includes(`"store":"${name}"`))).toBe(true);
    const namespaces = await kubeJson<KubeList<{ metadata: { name: string } }>>(
      'get',
      'namespace',
      '-l',
      'app.kubernetes.io/managed-by=urumi',
    );
    for (const name of names) {
      expect(namespaces.items.filter((n) => n.metadata.name === `store-${name}`)).toHaveLength(1);
      const kinds = (
        await kubectl(
          'get',
          'resourcequota,limitrange,networkpolicy,ingress,secret,deployment,statefulset',
          '-n',
          `store-${name}`,
          '-o',
          'name',
        )
      )
        .trim()
        .split('\n')
        .map((line) => line.split('/')[0])
        .sort();
      const count = (kind: string) => kinds.filter((k) => k === kind).length;
      expect([
        count('resourcequota'),
        count('limitrange'),
        count('networkpolicy.networking.k8s.io'),
        count('ingress.networking.k8s.io'),
      ]).toEqual([1, 1, 4, 1]);
      expect([count('secret'), count('deployment.apps'), count('statefulset.apps')]).toEqual([1, 1, 1]);
    }
    for (const id of ids) await api('sam', 'DELETE', `/api/v1/stores/${id}`);
    for (const id of ids) await untilGone('sam', id);
  });

  it('a teardown held up shows Degraded with the reason on the Store, and completes once it can', async () => {
    const id = await create('rita', 'stuck-shop');
    await untilStep('rita', id, 'ready');
    // A ConfigMap with a finalizer nobody removes keeps the namespace Terminating.
    const blocker = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'blocker', namespace: 'store-stuck-shop', finalizers: ['urumi.dev/test-blocker'] },
    };
    await sandbox.kubectl(['create', '-f', '-'], JSON.stringify(blocker));
    expect((await api('rita', 'DELETE', `/api/v1/stores/${id}`)).status).toBe(202);
    const degraded = await eventually(
      async () => {
        const cr = await kubeJson<{
          status: { phase: string; conditions: { type: string; status: string; reason: string; message: string }[] };
        }>('get', 'store', 'stuck-shop');
        const condition = cr.status.conditions.find((c) => c.type === 'Degraded');
        expect([cr.status.phase, condition?.status, condition?.reason]).toEqual(['Deleting', 'True', 'NamespaceStuck']);
        return condition!;
      },
      90_000,
      500,
    );
    expect(degraded.message).toContain('urumi.dev/test-blocker');
    await kubectl(
      'patch',
      'configmap',
      'blocker',
      '-n',
      'store-stuck-shop',
      '--type=merge',
      '-p',
      '{"metadata":{"finalizers":null}}',
    );
    await untilGone('rita', id);
    expect(await namespaceExists('store-stuck-shop')).toBe(false);
  });

  it('the orphan sweep deletes a store namespace that no Store owns', async () => {
    await kubectl('create', 'namespace', 'store-orphaned');
    await kubectl(
      'label',
      'namespace',
      'store-orphaned',
      'app.kubernetes.io/managed-by=urumi',
      'urumi.dev/store-id=gone-000000',
    );
    await eventually(async () => expect(await namespaceExists('store-orphaned')).toBe(false), 30_000, 250);
    expect(logs.some((line) => line.includes('Deleted orphaned namespace') && line.includes('store-orphaned'))).toBe(
      true,
    );
  });

  describe('a store is never lost, never left running unpaid, never stuck', () => {
    /** The store-lifecycle bucket as an operator (admin) sees it, to stand in for a mark that expired or a crash. */
    const withLifecycle = async (act: (kv: KV) => Promise<unknown>) => {
      const { url, user, password } = sut.nats;
      const nats = await connect({ servers: url, user, pass: password });
      try {
        await act(await nats.jetstream().views.kv('store-lifecycle'));
      } finally {
        await nats.close();
      }
    };
    const storeResource = async (name: string) =>
      (await kubectl('get', 'store', '--ignore-not-found', '-o', 'json', name)).trim()
        ? await kubeJson<{
            spec: { storeId: string };
            status?: {
              phase?: string;
              conditions?: { type: string; status: string; reason: string; message: string }[];
            };
          }>('get', 'store', name)
        : undefined;
    /** No new pod is scheduled meanwhile: the sandbox's nodes start pods at once, this holds a store short of Ready. */
    const withNodesCordoned = async <T>(act: () => Promise<T>): Promise<T> => {
      const nodes = (await kubectl('get', 'nodes', '-o', 'name')).trim().split('\n');
      await kubectl('cordon', ...nodes);
      try {
        return await act();
      } finally {
        await kubectl('uncordon', ...nodes);
      }
    };
    const conditionsOf = async (name: string) =>
      Object.fromEntries(((await storeResource(name))?.status?.conditions ?? []).map((c) => [c.type, c]));

    describe('a Ready store', () => {
      const name = 'steadfast-shop';
      const ns = `store-${name}`;
      let id = '';

      beforeAll(async () => {
        id = await create('lena', name);
        await untilStep('lena', id, 'ready');
      });

      it('whose Deployment is deleted by hand shows Degraded, naming it, and is Ready again', async () => {
        const [deployment] = (await kubectl('get', 'deployment', '-n', ns, '-o', 'name')).trim().split('\n');
        const deploymentName = deployment!.replace(/^deployment\.apps\//, '');
        const degraded = await withNodesCordoned(async () => {
          await kubectl('delete', 'deployment', deploymentName, '-n', ns, '--wait=true');
          return eventually(
            async () => {
              const { Degraded, Ready } = await conditionsOf(name);
              expect([Degraded?.status, Ready?.status]).toEqual(['True', 'False']);
              return Degraded!;
            },
            30_000,
            250,
          );
        });
        expect(degraded.message).toContain(`Deployment ${deploymentName}`);
        await eventually(
          async () => {
            const { Degraded, Ready } = await conditionsOf(name);
            expect([Degraded?.status, Ready?.status]).toEqual(['False', 'True']);
          },
          120_000,
          500,
        );
        expect((await kubectl('get', 'deployment', deploymentName, '-n', ns, '-o', 'name')).trim()).toBe(
          `deployment.apps/${deploymentName}`,
        );
      });

      it('whose Helm release a crash left locked (pending-upgrade) is recovered, and its workload reinstalled', async () => {
        // What a helm killed mid-upgrade leaves behind: a newer release record, pending-upgrade, that locks the release.
        const records = await kubeJson<{ items: V1ConfigMap[] }>(
          'get',
          'configmap',
          '-n',
          ns,
          '-l',
          'owner=helm,name=store',
        );
        const latest = records.items.sort(
          (a, b) => Number(b.metadata!.labels!['version']) - Number(a.metadata!.labels!['version']),
        )[0]!;
        const release = JSON.parse(gunzipSync(Buffer.from(latest.data!['release']!, 'base64')).toString()) as {
          version: number;
          info: { status: string };
        };
        const version = release.version + 1;
        const pending = { ...release, version, info: { ...release.info, status: 'pending-upgrade' } };
        await sandbox.kubectl(
          ['apply', '-n', ns, '-f', '-'],
          JSON.stringify({
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: {
              name: `sh.helm.release.v1.store.v${version}`,
              labels: { ...latest.metadata!.labels, status: 'pending-upgrade', version: String(version) },
            },
            data: { release: gzipSync(JSON.stringify(pending)).toString('base64') },
          }),
        );
        const [deployment] = (await kubectl('get', 'deployment', '-n', ns, '-o', 'name')).trim().split('\n');

        await kubectl('delete', deployment!, '-n', ns, '--wait=true');

        /** The newest release record: what `helm status` reports. */
        const newestRecord = async () =>
          (await kubeJson<{ items: V1ConfigMap[] }>('get', 'configmap', '-n', ns, '-l', 'owner=helm,name=store')).items
            .map((record) => ({
              version: Number(record.metadata!.labels!['version']),
              status: record.metadata!.labels!['status'],
            }))
            .sort((a, b) => b.version - a.version)[0]!;

        // The end state: rolled back past the interrupted upgrade, upgraded again, the store Ready with its workload.
        await eventually(
          async () => {
            const newest = await newestRecord();
            expect(newest.version).toBeGreaterThan(version);
            expect(newest.status).toBe('deployed');
            const { Degraded, Ready } = await conditionsOf(name);
            expect([Degraded?.status, Ready?.status]).toEqual(['False', 'True']);
            expect((await kubectl('get', deployment!, '-n', ns, '-o', 'name')).trim()).toBe(deployment);
          },
          120_000,
          500,
        );
        expect(logs.join('\n')).toMatch(new RegExp(`Recovering a locked Helm release.*${ns}.*pending-upgrade`));
      });

      it('whose lifecycle mark is gone (expired) is really torn down when deleted', async () => {
        await withLifecycle((kv) => kv.purge(id));

        expect((await api('lena', 'DELETE', `/api/v1/stores/${id}`)).status).toBe(202);
        await untilGone('lena', id);

        // Deleted is announced only once the namespace is gone.
        expect(await namespaceExists(ns)).toBe(false);
        await eventually(async () => expect(await storeResource(name)).toBeUndefined(), 10_000, 250);
      });
    });

    it('a store whose delete was consumed but never finished, or whose approval was dead-lettered, ends Deleted when deleted', async () => {
      await sut.kill('provisioner');
      try {
        // As a crash would leave them: a delete that withdrew one store but never announced it; a provisioner that
        // marked the other and then dead-lettered its approval.
        const withdrawn = await create('lena', 'half-withdrawn');
        const deadLettered = await create('lena', 'dead-lettered');
        await untilStep('lena', withdrawn, 'approved');
        await untilStep('lena', deadLettered, 'approved');
        await withLifecycle(async (kv) => {
          await kv.put(withdrawn, 'withdrawn');
          await kv.put(deadLettered, 'provisioning');
        });

        expect((await api('lena', 'DELETE', `/api/v1/stores/${withdrawn}`)).status).toBe(202);
        expect((await api('lena', 'DELETE', `/api/v1/stores/${deadLettered}`)).status).toBe(202);

        await untilGone('lena', withdrawn);
        await untilGone('lena', deadLettered);
      } finally {
        await sut.launch('provisioner');
      }
      // The provisioner, back, finds both withdrawn: it makes neither.
      await eventually(
        () =>
          expect(
            ['half-withdrawn', 'dead-lettered'].filter((store) =>
              logs.some((line) => line.includes('Store deleted before it was provisioned') && line.includes(store)),
            ),
          ).toEqual(['half-withdrawn', 'dead-lettered']),
        30_000,
        250,
      );
      expect(await storeResource('half-withdrawn')).toBeUndefined();
      expect(await storeResource('dead-lettered')).toBeUndefined();
      expect(await namespaceExists('store-half-withdrawn')).toBe(false);
      expect(await namespaceExists('store-dead-lettered')).toBe(false);
    });

    it('a delete that overtakes the approval (quota down) ends Deleted, and quota, back, approves nothing', async () => {
      await sut.kill('quota');
      let id = '';
      try {
        id = await create('lena', 'overtaken');
        expect((await api('lena', 'DELETE', `/api/v1/stores/${id}`)).status).toBe(202);
        await untilGone('lena', id);
      } finally {
        await sut.launch('quota');
      }
      await eventually(
        () =>
          expect(
            logs.some(
              (line) =>
                line.startsWith('[quota]') &&
                line.includes('Decided store creation') &&
                line.includes(id) &&
                line.includes('withdrawn'),
            ),
          ).toBe(true),
        30_000,
        250,
      );
      expect(await storeResource('overtaken')).toBeUndefined();
      expect(await namespaceExists('store-overtaken')).toBe(false);
    });

    it('a store stuck Deleting (its delete command lost) is re-driven by deleting it again', async () => {
      const id = await create('lena', 'lost-delete');
      await untilStep('lena', id, 'ready');
      await sut.kill('cleanup');
      try {
        expect((await api('lena', 'DELETE', `/api/v1/stores/${id}`)).status).toBe(202);
        // The command is lost before cleanup reads it: the store shows Deleting with nobody to act on it.
        const { url, user, password } = sut.nats;
        const nats = await connect({ servers: url, user, pass: password });
        try {
          const jsm = await nats.jetstreamManager();
          const command = await jsm.streams.getMessage('STORES', { last_by_subj: 'store.cmd.delete' });
          expect(JSON.parse(StringCodec().decode(command.data))).toMatchObject({ storeId: id });
          await jsm.streams.deleteMessage('STORES', command.seq);
        } finally {
          await nats.close();
        }
      } finally {
        await sut.launch('cleanup');
      }
      await untilStep('lena', id, 'deleting');

      expect((await api('lena', 'DELETE', `/api/v1/stores/${id}`)).status).toBe(202);

      await untilGone('lena', id);
      expect(await namespaceExists('store-lost-delete')).toBe(false);
      await eventually(async () => expect(await storeResource('lost-delete')).toBeUndefined(), 10_000, 250);
    });

    it('a namespace the platform did not create is never taken over, and survives the store', async () => {
      await kubectl('create', 'namespace', 'store-squatted');
      try {
        const id = await create('lena', 'squatted');
        const failed = await untilStep('lena', id, 'failed');
        expect(failed.reason).toBe('NamespaceNotOwned');
        expect(failed.message).toContain('store-squatted');
        const namespace = await kubeJson<{ metadata: { labels: Record<string, string> } }>(
          'get',
          'namespace',
          'store-squatted',
        );
        expect(namespace.metadata.labels).not.toHaveProperty('app.kubernetes.io/managed-by');
        expect((await kubectl('get', 'all,secret,resourcequota', '-n', 'store-squatted', '-o', 'name')).trim()).toBe(
          '',
        );

        expect((await api('lena', 'DELETE', `/api/v1/stores/${id}`)).status).toBe(202);
        await untilGone('lena', id);

        expect(await namespaceExists('store-squatted')).toBe(true);
        expect(await storeResource('squatted')).toBeUndefined();
      } finally {
        await kubectl('delete', 'namespace', 'store-squatted', '--wait=false');
      }
    });

    describe('a store that fails (provisioning timed out)', () => {
      // The same platform, its provisioner replaced by one that gives up after 10 s (the nodes, cordoned, start nothing).
      const impatient = new Platform(sandbox, {
        users,
        services: ['provisioner'],
        joins: sut,
        env: { LOG_LEVEL: 'info', RESYNC_SECONDS: '5', PROVISION_TIMEOUT_SECONDS: '10' },
        output: (line) => logs.push(line),
      });

      beforeAll(async () => {
        await sut.kill('provisioner');
        await impatient.start();
      });

      afterAll(async () => {
        await impatient.stop();
        await sut.launch('provisioner');
      });

      it('ends Failed, keeps its namespace for the owner to inspect, and holds its quota slot until deleted', async () => {
        const id = await create('fay', 'too-slow');
        const failed = await withNodesCordoned(() => untilStep('fay', id, 'failed', 60_000));
        expect(failed.reason).toBe('ProvisioningTimeout');
        expect(await namespaceExists('store-too-slow')).toBe(true);

        // fay may have one active store: the failed one still counts.
        const refused = await untilStep('fay', await create('fay', 'second-try'), 'rejected');
        expect([refused.reason, refused.message]).toEqual(['QuotaExceeded', 'quota: 1 of 1 active stores']);

        expect((await api('fay', 'DELETE', `/api/v1/stores/${id}`)).status).toBe(202);
        await untilGone('fay', id);
        expect(await namespaceExists('store-too-slow')).toBe(false);
        // Deleted, it frees the slot.
        const third = await create('fay', 'third-try');
        await eventually(
          async () =>
            expect((await api('fay', 'GET', `/api/v1/stores/${third}`)).body.history).toContainEqual(
              expect.objectContaining({ step: 'approved' }),
            ),
          30_000,
          250,
        );
        expect((await api('fay', 'DELETE', `/api/v1/stores/${third}`)).status).toBe(202);
        await untilGone('fay', third);
      });
    });
  });

  describe('the Store schema', () => {
    const store = (spec: Record<string, unknown>, name = 'schema-check') =>
      JSON.stringify({ apiVersion: 'urumi.dev/v1', kind: 'Store', metadata: { name }, spec });
    const good = {
      storeId: '0f8c1c3e-6a47-4a8e-9f8e-0c6f4c1d2b7a',
      engine: 'medusa',
      owner: 'paul',
      domain: 'a.example.com',
    };
    const dryRun = (manifest: string) =>
      sandbox.kubectl(['create', '--dry-run=server', '-f', '-'], manifest).then(
        () => 'accepted',
        (error: CommandError) => error.stderr,
      );

    it('accepts a good Store and defaults its plan', async () => {
      expect(await dryRun(store(good))).toBe('accepted');
    });

    it.each([
      ['an unknown engine', { ...good, engine: 'magento' }, 'spec.engine'],
      ['an unknown plan', { ...good, plan: 'huge' }, 'spec.plan'],
      ['a bad domain', { ...good, domain: 'Not A Host' }, 'spec.domain'],
      ['no owner', { ...good, owner: undefined }, 'spec.owner'],
    ])('rejects %s', async (_what, spec, field) => {
      expect(await dryRun(store(spec))).toContain(field);
    });

    it('rejects a name longer than 40 characters', async () => {
      expect(await dryRun(store(good, 'x'.repeat(41)))).toContain('3 to 40 characters');
    });
  });

  describe('a provisioner configured for production: TLS from cert-manager, a StorageClass', () => {
    const storageClass = 'urumi-test-ssd';
    const ns = 'store-secure-shop';
    // The same platform, its provisioner replaced by one with production settings.
    const production = new Platform(sandbox, {
      users,
      services: ['provisioner'],
      joins: sut,
      env: {
        LOG_LEVEL: 'info',
        RESYNC_SECONDS: '5',
        STORE_TLS: 'cert-manager',
        STORE_TLS_CLUSTER_ISSUER: 'letsencrypt-test',
        STORE_STORAGE_CLASS: storageClass,
      },
      output: (line) => logs.push(line),
    });

    beforeAll(async () => {
      await sandbox.kubectl(
        ['apply', '-f', '-'],
        JSON.stringify({
          apiVersion: 'storage.k8s.io/v1',
          kind: 'StorageClass',
          metadata: { name: storageClass },
          provisioner: 'kubernetes.io/host-path',
          reclaimPolicy: 'Delete',
          volumeBindingMode: 'Immediate',
        }),
      );
      await sut.kill('provisioner');
      await production.start();
    });

    afterAll(async () => {
      await production.stop();
      await sut.launch('provisioner');
      await kubectl('delete', 'storageclass', storageClass, '--ignore-not-found');
    });

    it('serves the store over TLS, lets the ACME solver in, and puts its volumes on the StorageClass', async () => {
      const id = await create('paul', 'secure-shop');
      await untilStep('paul', id, 'ready');

      const ingress = await kubeJson<{
        metadata: { annotations?: Record<string, string> };
        spec: { tls?: { hosts: string[]; secretName?: string }[] };
      }>('get', 'ingress', 'storefront', '-n', ns);
      expect(ingress.metadata.annotations).toMatchObject({ 'cert-manager.io/cluster-issuer': 'letsencrypt-test' });
      expect(ingress.spec.tls).toEqual([{ hosts: ['secure-shop.127.0.0.1.nip.io'], secretName: 'storefront-tls' }]);
      const solver = await kubeJson<NetworkPolicy>('get', 'networkpolicy', 'allow-acme-http01-solver', '-n', ns);
      expect(solver.spec.podSelector).toEqual({ matchLabels: { 'acme.cert-manager.io/http01-solver': 'true' } });
      const pvcs = await kubeJson<KubeList<{ spec: { storageClassName?: string }; status: { phase: string } }>>(
        'get',
        'pvc',
        '-n',
        ns,
      );
      expect(pvcs.items.length).toBeGreaterThan(0);
      expect(pvcs.items.map((p) => [p.spec.storageClassName, p.status.phase])).toEqual(
        pvcs.items.map(() => [storageClass, 'Bound']),
      );

      await api('paul', 'DELETE', `/api/v1/stores/${id}`);
      await untilGone('paul', id);
    });
  });

  describe('RBAC: each service is refused what it must not do', () => {
    const can = async (account: string, ...args: string[]) =>
      (
        await kubectl('auth', 'can-i', `--as=system:serviceaccount:${PLATFORM_NAMESPACE}:${account}`, ...args).catch(
          (error: unknown) => (error instanceof CommandError ? error.stdout : Promise.reject(error)),
        )
      ).trim();

    it.each([
      ['urumi-provisioner', ['list', 'secrets', '-A']],
      ['urumi-provisioner', ['get', 'secrets/other', '-n', 'kube-system']],
      ['urumi-provisioner', ['escalate', 'clusterroles']],
      ['urumi-provisioner', ['bind', 'clusterroles']],
      ['urumi-provisioner', ['impersonate', 'users']],
      ['urumi-provisioner', ['delete', 'namespaces']],
      ['urumi-provisioner', ['create', 'pods', '-n', 'default']],
      ['urumi-cleanup', ['get', 'secrets', '-n', 'store-x']],
      ['urumi-cleanup', ['create', 'namespaces']],
      ['urumi-cleanup', ['create', 'stores.urumi.dev']],
      ['urumi-cleanup', ['impersonate', 'serviceaccounts']],
    ])('%s may not %j', async (account, args) => {
      expect(await can(account, ...args)).toBe('no');
    });

    it.each([
      ['urumi-provisioner', ['create', 'stores.urumi.dev']],
      ['urumi-provisioner', ['get', 'secrets/store-credentials', '-n', 'store-x']],
      ['urumi-cleanup', ['delete', 'namespaces']],
      ['urumi-cleanup', ['patch', 'stores.urumi.dev']],
    ])('%s may %j (what it needs)', async (account, args) => {
      expect(await can(account, ...args)).toBe('yes');
    });
  });
});
