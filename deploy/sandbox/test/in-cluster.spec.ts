import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CONSOLE_HOST,
  InClusterInstall,
  installInCluster,
  podMemory,
  uninstallInCluster,
  volumesOf,
} from '../src/in-cluster';
import { INGRESS_CONTROLLER } from '../src/node/addons';
import { NODE_NAME, REGISTRY_HOST } from '../src/node/plan';
import { repoRoot } from '../src/paths';
import { eventually } from '../src/testing/eventually';
import { httpRequest, HttpAnswer } from '../src/testing/medusa-shopper';
import { testSandbox } from '../src/testing/test-sandbox';
import { versions } from '../src/versions';

// Builds the platform's images (cold: many minutes), installs the chart on the real node and waits for it.
jest.setTimeout(40 * 60_000);

const RELEASE = 'urumi';
const NAMESPACE = 'urumi-system';
/** Each pod's component and the ServiceAccount the chart gives it (values.yaml serviceAccounts). */
const SERVICE_ACCOUNTS: Record<string, string> = {
  nats: 'urumi-nats',
  gateway: 'urumi-gateway',
  quota: 'urumi-quota',
  provisioner: 'urumi-provisioner',
  cleanup: 'urumi-cleanup',
};

interface LivePod {
  metadata: { name: string; labels: Record<string, string> };
  spec: {
    nodeName?: string;
    serviceAccountName: string;
    securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
    containers: { name: string; image: string; securityContext?: { readOnlyRootFilesystem?: boolean } }[];
  };
  status: {
    phase: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: { name: string; containerID?: string; imageID?: string; ready: boolean }[];
  };
}

describe(installInCluster.name, () => {
  const sandbox = testSandbox();
  let sut: InClusterInstall;
  let installed = false;
  const kubeJson = async <T>(...args: string[]) => JSON.parse(await sandbox.kubectl([...args, '-o', 'json'])) as T;
  const pods = async () => (await kubeJson<{ items: LivePod[] }>('get', 'pods', '-n', NAMESPACE)).items;

  /** Through the ingress controller's loopback port, with the console's host name resolved there (as nip.io does). */
  const viaIngress = (method: string, path: string, token?: string, body?: unknown): Promise<HttpAnswer> =>
    httpRequest(
      { url: sut.consoleUrl, resolveTo: '127.0.0.1' },
      method,
      path,
      {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body === undefined ? undefined : JSON.stringify(body),
    );
  const tokenOf = (name: string) => sut.users.find((user) => user.name === name)!.token;

  /** The host process of a container of the real node (containerd's task), by the ID its pod status names. */
  async function containerPid(containerId: string): Promise<number> {
    const node = await sandbox.realNode();
    const tasks = await node.run('ctr', ['-a', node.paths.containerdSocket, '-n', 'k8s.io', 'tasks', 'list']);
    const line = tasks.split('\n').find((row) => row.startsWith(containerId));
    if (!line) throw new Error(`no containerd task ${containerId} on the node:\n${tasks}`);
    return Number(line.trim().split(/\s+/)[1]);
  }

  beforeAll(async () => {
    sut = await installInCluster(sandbox, { release: RELEASE, namespace: NAMESPACE });
    installed = true;
    const memory = await podMemory(sandbox, NAMESPACE);
    // The numbers for the issue's closing note.
    process.stdout.write(
      `[in-cluster] images ${Math.round(sut.images.ms / 1000)}s (${Object.values(sut.images.services)
        .map(
          (image) =>
            `${image.image.split('/').pop()} ${image.upToDate ? 'up to date' : `${Math.round(image.ms / 1000)}s`}`,
        )
        .join(', ')}); install → Ready ${Math.round(sut.installMs / 1000)}s\n` +
        memory
          .map(
            (m) =>
              `[in-cluster]   ${m.pod} ${Math.round(m.rssBytes / 2 ** 20)} MiB RSS, ${Math.round(m.workingSetBytes / 2 ** 20)} MiB working set\n`,
          )
          .join(''),
    );
  });

  afterAll(async () => {
    if (installed) await uninstallInCluster(sandbox, { release: RELEASE, namespace: NAMESPACE });
  });

  it('runs NATS, gateway, quota, provisioner and cleanup as Ready pods on the real node, from the images built here', async () => {
    const live = await pods();
    expect(
      live
        .map((pod) => [pod.metadata.labels['app.kubernetes.io/component'], pod.spec.nodeName, pod.status.phase])
        .sort(),
    ).toEqual(
      Object.keys(SERVICE_ACCOUNTS)
        .map((component) => [component, NODE_NAME, 'Running'])
        .sort(),
    );
    for (const pod of live) {
      expect([pod.metadata.name, pod.status.conditions?.find((c) => c.type === 'Ready')?.status]).toEqual([
        pod.metadata.name,
        'True',
      ]);
    }
    const imageOf = (component: string) =>
      live.find((pod) => pod.metadata.labels['app.kubernetes.io/component'] === component)!.spec.containers[0]!.image;
    for (const [service, image] of Object.entries(sut.images.services)) {
      expect(imageOf(service)).toBe(`${REGISTRY_HOST}/urumi/${service}:dev@${image.digest}`);
    }
    expect(imageOf('nats')).toBe(`${REGISTRY_HOST}/base/nats-server:${versions.natsServer}`);
    // values-sandbox.yaml names the NATS image the sandbox builds from the pinned module.
    expect(readFileSync(join(repoRoot, 'charts/platform/values-sandbox.yaml'), 'utf8')).toContain(
      `tag: ${versions.natsServer}\n`,
    );
  });

  it('runs every container non-root on a read-only root filesystem under its own ServiceAccount', async () => {
    for (const pod of await pods()) {
      const component = pod.metadata.labels['app.kubernetes.io/component']!;
      expect([component, pod.spec.serviceAccountName, pod.spec.securityContext?.runAsNonRoot]).toEqual([
        component,
        SERVICE_ACCOUNTS[component],
        true,
      ]);
      for (const status of pod.status.containerStatuses ?? []) {
        // What the kernel says of the running process: its user IDs and its root mount.
        const pid = await containerPid(status.containerID!.replace('containerd://', ''));
        const uids = /^Uid:\s+(.+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]!.split(/\s+/);
        const rootMount = readFileSync(`/proc/${pid}/mountinfo`, 'utf8')
          .split('\n')
          .map((line) => line.split(' '))
          .find((fields) => fields[4] === '/');
        expect([component, status.name, uids, rootMount?.[5]?.split(',')[0]]).toEqual([
          component,
          status.name,
          ['1000', '1000', '1000', '1000'],
          'ro',
        ]);
      }
    }
  });

  it('fences the namespace with NetworkPolicies that name Traefik and the API server as the real node reaches it', async () => {
    const policies = await kubeJson<{
      items: {
        metadata: { name: string };
        spec: { egress?: { to?: { ipBlock?: { cidr: string } }[]; ports?: { port: number }[] }[] };
      }[];
    }>('get', 'networkpolicies', '-n', NAMESPACE);
    const node = await sandbox.realNode();
    const apiServerRules = (name: string) =>
      policies.items
        .find((policy) => policy.metadata.name === `${RELEASE}-${name}`)!
        .spec.egress!.filter((rule) => rule.to?.some((peer) => peer.ipBlock))
        .map((rule) => [rule.to!.map((peer) => peer.ipBlock!.cidr), rule.ports!.map((p) => p.port)]);
    const endpoints = await kubeJson<{ subsets: { addresses: { ip: string }[]; ports: { port: number }[] }[] }>(
      'get',
      'endpoints',
      'kubernetes',
      '-n',
      'default',
    );
    const apiServer = [[`${node.plan.hostIp}/32`], [endpoints.subsets[0]!.ports[0]!.port]];
    expect(endpoints.subsets[0]!.addresses.map((a) => a.ip)).toEqual([node.plan.hostIp]);
    expect(apiServerRules('provisioner')).toEqual([apiServer]);
    expect(apiServerRules('cleanup')).toEqual([apiServer]);
    const ingress = await kubeJson<{ spec: { ingressClassName: string; rules: { host: string }[] } }>(
      'get',
      'ingress',
      `${RELEASE}-console`,
      '-n',
      NAMESPACE,
    );
    expect([ingress.spec.ingressClassName, ingress.spec.rules[0]!.host]).toEqual([
      INGRESS_CONTROLLER.ingressClass,
      CONSOLE_HOST,
    ]);
  });

  it("serves the console and the API through the ingress controller at the console's host", async () => {
    const index = await viaIngress('GET', '/');
    expect([index.status, index.contentType]).toEqual([200, expect.stringContaining('text/html')]);
    expect(index.body).toMatch(/<app-root|<base href/);
    const stores = await viaIngress('GET', '/api/v1/stores', tokenOf('admin'));
    expect([stores.status, Array.isArray((JSON.parse(stores.body) as { items: unknown[] }).items)]).toEqual([
      200,
      true,
    ]);
    expect((await viaIngress('GET', '/api/v1/stores')).status).toBe(401);
  });

  it('accepts a store create through the ingress, and the in-cluster provisioner makes its Store; DELETE removes it', async () => {
    const name = `ic-${Date.now().toString(36)}`;
    const created = await viaIngress('POST', '/api/v1/stores', tokenOf('alice'), { name, engine: 'woocommerce' });
    expect(created.status).toBe(202);
    const { id } = JSON.parse(created.body) as { id: string };
    const store = await eventually(
      () =>
        kubeJson<{ spec: { storeId: string; engine: string; owner: string; domain: string } }>(
          'get',
          'stores.urumi.dev',
          name,
        ),
      120_000,
      1_000,
    );
    expect(store.spec).toMatchObject({
      storeId: id,
      engine: 'woocommerce',
      owner: 'alice',
      domain: `${name}.127.0.0.1.nip.io`,
    });

    expect((await viaIngress('DELETE', `/api/v1/stores/${id}`, tokenOf('alice'))).status).toBe(202);
    await eventually(
      async () =>
        expect((await sandbox.kubectl(['get', 'stores.urumi.dev', name, '--ignore-not-found'])).trim()).toBe(''),
      180_000,
      1_000,
    );
  });

  it('uninstalls: the namespace, its pods and their containers on the node are gone', async () => {
    const containerIds = (await pods()).flatMap((pod) =>
      (pod.status.containerStatuses ?? []).map((s) => s.containerID!.replace('containerd://', '')),
    );
    expect(containerIds).toHaveLength(5);
    const [volume, ...more] = await volumesOf(sandbox, NAMESPACE);
    expect(more).toEqual([]);
    const pv = await kubeJson<{ spec: { hostPath?: { path: string }; local?: { path: string } } }>(
      'get',
      'pv',
      volume!,
    );
    const folder = pv.spec.hostPath?.path ?? pv.spec.local?.path ?? '';
    // NATS's JetStream store, on the node.
    expect(existsSync(join(folder, 'jetstream'))).toBe(true);
    await uninstallInCluster(sandbox, { release: RELEASE, namespace: NAMESPACE });
    installed = false;
    expect((await sandbox.kubectl(['get', 'namespace', NAMESPACE, '--ignore-not-found'])).trim()).toBe('');
    expect((await sandbox.helm(['list', '-A', '-q', '--filter', `^${RELEASE}$`])).trim()).toBe('');
    // The kubelet removes a deleted pod's containers (its container GC runs each minute), and local-path its volume's
    // folder, after the objects are gone.
    const node = await sandbox.realNode();
    await eventually(
      async () => {
        const left = await node.containerIds();
        expect(containerIds.filter((id) => left.includes(id))).toEqual([]);
        expect([await volumesOf(sandbox, NAMESPACE), existsSync(folder)]).toEqual([[], false]);
      },
      120_000,
      1_000,
    );
  });
});
