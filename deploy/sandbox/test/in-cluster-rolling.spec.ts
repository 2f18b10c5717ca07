import { KubeConfig, Watch } from '@kubernetes/client-node';
import { randomUUID } from 'node:crypto';
import { InClusterInstall, installInCluster, uninstallInCluster } from '../src/in-cluster';
import { eventually } from '../src/testing/eventually';
import { httpRequest, HttpAnswer } from '../src/testing/medusa-shopper';
import { testSandbox } from '../src/testing/test-sandbox';

// Builds the platform's images (cold: many minutes), installs the chart on the real node, restarts it twice.
jest.setTimeout(40 * 60_000);

const RELEASE = 'urumi';
const NAMESPACE = 'urumi-system';
const DEPLOYMENTS = ['cleanup', 'gateway', 'provisioner', 'quota'];
/** The pods' terminationGracePeriodSeconds (charts/platform templates/_helpers.tpl). */
const GRACE_PERIOD_SECONDS = 30;
/** The Helm release of a store in its namespace (services/provisioner/src/reconciler.ts). */
const STORE_RELEASE = 'store';

interface WatchedPod {
  metadata: {
    uid: string;
    name: string;
    labels?: Record<string, string>;
    deletionTimestamp?: string;
    deletionGracePeriodSeconds?: number;
  };
  status?: {
    containerStatuses?: {
      name: string;
      restartCount: number;
      state?: { terminated?: { exitCode: number; signal?: number; reason?: string; finishedAt?: string } };
      lastState?: { terminated?: { exitCode: number; reason?: string } };
    }[];
  };
}

/** What one pod went through, as the API server told a watch: its last status, and when it was asked to stop. */
interface PodRecord {
  readonly component: string;
  readonly name: string;
  last: WatchedPod;
  /** This process's clock when the watch first saw the deletion (SIGTERM follows at once: there is no preStop). */
  sawDeletionAt?: number;
  /** This process's clock when the watch first saw every container terminated. */
  sawExitAt?: number;
}

/** Every pod of the platform's namespace that the watch saw, by UID, including those deleted since. */
class PodHistory {
  readonly pods = new Map<string, PodRecord>();
  private abort?: AbortController;
  private stopped = false;

  constructor(private readonly kubeconfig: string) {}

  async start(): Promise<void> {
    const config = new KubeConfig();
    config.loadFromFile(this.kubeconfig);
    const watch = new Watch(config);
    const begin = async (): Promise<void> => {
      this.abort = await watch.watch(
        `/api/v1/namespaces/${NAMESPACE}/pods`,
        {},
        (_type, pod: WatchedPod) => this.record(pod),
        // A watch the API server ends is begun again: it lists every pod first, so nothing is missed but the pods
        // deleted in between (none: the test restarts nothing then).
        () => void (this.stopped ? undefined : begin()),
      );
    };
    await begin();
  }

  stop(): void {
    this.stopped = true;
    this.abort?.abort();
  }

  /** The platform's service pods (not NATS) that have been asked to stop. */
  terminated(): PodRecord[] {
    return [...this.pods.values()].filter(
      (pod) => DEPLOYMENTS.includes(pod.component) && pod.last.metadata.deletionTimestamp,
    );
  }

  private record(pod: WatchedPod): void {
    const now = Date.now();
    const record = this.pods.get(pod.metadata.uid) ?? {
      component: pod.metadata.labels?.['app.kubernetes.io/component'] ?? '',
      name: pod.metadata.name,
      last: pod,
    };
    record.last = pod;
    if (pod.metadata.deletionTimestamp) record.sawDeletionAt ??= now;
    const statuses = pod.status?.containerStatuses ?? [];
    if (statuses.length && statuses.every((s) => s.state?.terminated)) record.sawExitAt ??= now;
    this.pods.set(pod.metadata.uid, record);
  }
}

describe(`${installInCluster.name}, restarted while it works`, () => {
  const sandbox = testSandbox();
  let sut: InClusterInstall;
  let installed = false;
  let history: PodHistory;
  const kubeJson = async <T>(...args: string[]) => JSON.parse(await sandbox.kubectl([...args, '-o', 'json'])) as T;
  const tokenOf = (name: string) => sut.users.find((user) => user.name === name)!.token;

  /**
   * Through the ingress controller, retried while the answer is a 502/503/504 or the connection fails: a request may
   * reach a gateway pod in the moment it leaves the Service. The Idempotency-Key makes a retried POST or DELETE one.
   */
  async function viaIngress(method: string, path: string, body?: unknown): Promise<HttpAnswer> {
    const headers = {
      authorization: `Bearer ${tokenOf('alice')}`,
      'idempotency-key': randomUUID(),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    };
    return eventually(
      async () => {
        const answer = await httpRequest(
          { url: sut.consoleUrl, resolveTo: '127.0.0.1' },
          method,
          path,
          headers,
          body === undefined ? undefined : JSON.stringify(body),
        );
        if ([502, 503, 504].includes(answer.status)) throw new Error(`${method} ${path}: ${answer.status}`);
        return answer;
      },
      60_000,
      500,
    );
  }

  const storeView = async (id: string) =>
    JSON.parse((await viaIngress('GET', `/api/v1/stores/${id}`)).body) as {
      step: string;
      history: { step: string }[];
    };

  const deploymentNames = async () =>
    (await kubeJson<{ items: { metadata: { name: string } }[] }>('get', 'deployments', '-n', NAMESPACE)).items
      .map((d) => d.metadata.name)
      .sort();

  /**
   * `kubectl rollout restart` of every Deployment of the namespace; `during` runs once the first old pod has been told
   * to stop (so the work it starts overlaps the restarts); then every rollout is waited for. Returns the old pods.
   */
  async function rollingRestart(during: () => Promise<void>): Promise<PodRecord[]> {
    const before = new Set(history.terminated().map((pod) => pod.last.metadata.uid));
    const running = [...history.pods.values()].filter(
      (pod) => DEPLOYMENTS.includes(pod.component) && !pod.last.metadata.deletionTimestamp,
    );
    expect(running.map((pod) => pod.component).sort()).toEqual(DEPLOYMENTS);
    await sandbox.kubectl(['rollout', 'restart', 'deployment', '-n', NAMESPACE]);
    await eventually(() => expect(history.terminated().length).toBeGreaterThan(before.size), 180_000, 100);
    await during();
    for (const name of await deploymentNames()) {
      await sandbox.kubectl(['rollout', 'status', `deployment/${name}`, '-n', NAMESPACE, '--timeout=300s']);
    }
    // Every old pod has stopped and is gone (a rollout is complete once the old ones are terminating).
    const old = running.map((pod) => pod.last.metadata.uid);
    await eventually(
      async () => {
        const left = (await kubeJson<{ items: WatchedPod[] }>('get', 'pods', '-n', NAMESPACE)).items.map(
          (pod) => pod.metadata.uid,
        );
        expect(old.filter((uid) => left.includes(uid))).toEqual([]);
      },
      120_000,
      500,
    );
    return running.map((pod) => history.pods.get(pod.last.metadata.uid)!);
  }

  /** Each old pod's container ended by its own exit 0 on SIGTERM: not SIGKILLed at the end of its grace period. */
  function expectCleanExits(old: PodRecord[]): void {
    const exits = old.map((pod) => {
      const [container] = pod.last.status?.containerStatuses ?? [];
      const terminated = container?.state?.terminated;
      return [pod.component, terminated?.exitCode, terminated?.reason, container?.restartCount];
    });
    expect(exits.sort()).toEqual(DEPLOYMENTS.map((component) => [component, 0, 'Completed', 0]));
    for (const pod of old) {
      const watched = pod.sawExitAt && pod.sawDeletionAt ? pod.sawExitAt - pod.sawDeletionAt : NaN;
      process.stdout.write(
        `[rolling] ${pod.component.padEnd(11)} ${pod.name}: SIGTERM → exit ${(watched / 1000).toFixed(1)} s as ` +
          `watched (grace ${GRACE_PERIOD_SECONDS} s)\n`,
      );
    }
  }

  /** The Deployments' pods now: each Ready and never restarted (no crash since it started). */
  async function expectNewPodsUncrashed(old: PodRecord[]): Promise<void> {
    const oldNames = old.map((pod) => pod.name);
    const live = (await kubeJson<{ items: WatchedPod[] }>('get', 'pods', '-n', NAMESPACE)).items.filter((pod) =>
      DEPLOYMENTS.includes(pod.metadata.labels?.['app.kubernetes.io/component'] ?? ''),
    );
    expect(
      live
        .map((pod) => [
          pod.metadata.labels!['app.kubernetes.io/component'],
          oldNames.includes(pod.metadata.name),
          pod.status?.containerStatuses?.map((s) => s.restartCount),
        ])
        .sort(),
    ).toEqual(DEPLOYMENTS.map((component) => [component, false, [0]]));
  }

  beforeAll(async () => {
    sut = await installInCluster(sandbox, { release: RELEASE, namespace: NAMESPACE });
    installed = true;
    history = new PodHistory(sandbox.kubeconfig);
    await history.start();
    await eventually(() => expect(history.pods.size).toBeGreaterThan(DEPLOYMENTS.length));
  });

  afterAll(async () => {
    history?.stop();
    if (installed) await uninstallInCluster(sandbox, { release: RELEASE, namespace: NAMESPACE });
  });

  const name = `roll-${Date.now().toString(36)}`;
  let id = '';

  it('creates a store while every Deployment restarts: it is Ready once, and every old pod exits 0 on SIGTERM', async () => {
    expect(await deploymentNames()).toEqual(DEPLOYMENTS.map((component) => `${RELEASE}-${component}`));
    const old = await rollingRestart(async () => {
      const created = await viaIngress('POST', '/api/v1/stores', { name, engine: 'woocommerce' });
      expect(created.status).toBe(202);
      id = (JSON.parse(created.body) as { id: string }).id;
    });

    const view = await eventually(
      async () => {
        const store = await storeView(id);
        expect(store.step).toBe('ready');
        return store;
      },
      300_000,
      1_000,
    );
    expect(view.history.filter((entry) => entry.step === 'ready')).toHaveLength(1);
    const store = await kubeJson<{ status?: { phase?: string } }>('get', 'stores.urumi.dev', name);
    expect(store.status?.phase).toBe('Ready');
    const namespaces = await kubeJson<{ items: { metadata: { name: string } }[] }>('get', 'namespaces');
    expect(namespaces.items.map((ns) => ns.metadata.name).filter((ns) => ns.includes(name))).toEqual([`store-${name}`]);
    // The provisioner keeps Helm's release records as ConfigMaps (HELM_DRIVER=configmap): one per revision.
    const records = await kubeJson<{ items: { metadata: { labels?: Record<string, string> } }[] }>(
      'get',
      'configmaps',
      '-n',
      `store-${name}`,
      '-l',
      'owner=helm',
    );
    const revisions = records.items.map((record) => record.metadata.labels ?? {});
    expect(new Set(revisions.map((labels) => labels['name']))).toEqual(new Set([STORE_RELEASE]));
    const latest = revisions.sort((a, b) => Number(b['version']) - Number(a['version']))[0];
    expect(latest?.['status']).toBe('deployed');
    process.stdout.write(`[rolling] store ${name}: Ready, Helm release revision ${latest?.['version']}\n`);

    expectCleanExits(old);
    await expectNewPodsUncrashed(old);
  });

  it('deletes the store while every Deployment restarts again: it is Deleted, its namespace gone', async () => {
    expect(id).not.toBe('');
    const old = await rollingRestart(async () => {
      expect((await viaIngress('DELETE', `/api/v1/stores/${id}`)).status).toBe(202);
    });

    // A Deleted store leaves the read model: the gateway no longer knows it.
    await eventually(
      async () => expect((await viaIngress('GET', `/api/v1/stores/${id}`)).status).toBe(404),
      300_000,
      1_000,
    );
    expect((await sandbox.kubectl(['get', 'stores.urumi.dev', name, '--ignore-not-found'])).trim()).toBe('');
    expect((await sandbox.kubectl(['get', 'namespace', `store-${name}`, '--ignore-not-found'])).trim()).toBe('');

    expectCleanExits(old);
    await expectNewPodsUncrashed(old);
  });
});
