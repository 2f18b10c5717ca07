import { readFile } from 'node:fs/promises';
import { request } from 'node:https';
import { connect, NatsConnection, RetentionPolicy, StorageType } from 'nats';
import { Sandbox } from '../src/sandbox';
import { eventually } from '../src/testing/eventually';
import { testSandbox } from '../src/testing/test-sandbox';

// These wait on a real cluster: pods scheduled, namespaces finalized.
jest.setTimeout(120_000);

/**
 * Proves the test sandbox is a real cluster: each test exercises one component
 * (KWOK, ResourceQuota admission, Pod Security admission, RBAC, the namespace controller, JetStream).
 */
describe(Sandbox.name, () => {
  const sut = testSandbox();
  const kubectl = (args: string[], input?: string) => sut.kubectl(args, input);
  const uniqueName = (prefix: string) => `${prefix}-${Date.now().toString(36)}`;

  /** A namespace whose default ServiceAccount exists, so pods are admitted. */
  async function namespace(prefix: string, labels: Record<string, string> = {}): Promise<string> {
    const name = uniqueName(prefix);
    await kubectl(['create', 'namespace', name]);
    if (Object.keys(labels).length) {
      await kubectl(['label', 'namespace', name, ...Object.entries(labels).map(([k, v]) => `${k}=${v}`)]);
    }
    await kubectl(['wait', '--for=create', `serviceaccount/default`, '-n', name, '--timeout=30s']);
    return name;
  }

  function pod(name: string, spec: Record<string, unknown> = {}, container: Record<string, unknown> = {}): string {
    return JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name },
      spec: { containers: [{ name: 'app', image: 'registry.example/app:1', ...container }], ...spec },
    });
  }

  it('schedules a Deployment onto KWOK nodes and reports its pods Ready', async () => {
    const ns = await namespace('deploy');
    await kubectl(['create', 'deployment', 'web', '--image=registry.example/web:1', '--replicas=3', '-n', ns]);

    await kubectl(['wait', '--for=condition=Available', 'deployment/web', '-n', ns, '--timeout=60s']);

    const pods = JSON.parse(await kubectl(['get', 'pods', '-n', ns, '-o', 'json'])) as {
      items: {
        spec: { nodeName?: string };
        status: { phase: string; conditions?: { type: string; status: string }[] };
      }[];
    };
    expect(pods.items).toHaveLength(3);
    for (const p of pods.items) {
      expect(p.spec.nodeName).toMatch(/^kwok-node-/);
      expect(p.status.phase).toBe('Running');
      expect(p.status.conditions).toContainEqual(expect.objectContaining({ type: 'Ready', status: 'True' }));
    }
  });

  it("renews each KWOK node's Lease, as a kubelet does, so no node is taken for gone and its pods marked not ready", async () => {
    // Without Leases the node lifecycle controller saw only KWOK's status heartbeats, 10 to 20 minutes apart: past its
    // grace period it marked every node NotReady and their pods Ready=False, which KWOK never sets back (a chaos run
    // lost a store to it). Renewed Leases keep the nodes healthy however seldom their status is written.
    const nodes = (await kubectl(['get', 'nodes', '-o', 'name']))
      .trim()
      .split('\n')
      .map((n) => n.replace('node/', ''));
    const renewals = async () =>
      Object.fromEntries(
        await Promise.all(
          nodes.map(async (node) => [
            node,
            await kubectl(['get', 'lease', node, '-n', 'kube-node-lease', '-o', 'jsonpath={.spec.renewTime}']),
          ]),
        ),
      ) as Record<string, string>;
    await eventually(async () => expect(Object.values(await renewals()).every(Boolean)).toBe(true), 60_000);
    const first = await renewals();
    await eventually(async () => {
      const now = await renewals();
      expect(nodes.filter((node) => now[node] === first[node])).toEqual([]);
    }, 90_000);
  });

  it('rejects a pod that would exceed the namespace ResourceQuota', async () => {
    const ns = await namespace('quota');
    await kubectl(['create', 'quota', 'small', '--hard=requests.cpu=500m,limits.cpu=1,pods=5', '-n', ns]);
    await kubectl(['wait', '--for=jsonpath={.status.hard.pods}=5', 'resourcequota/small', '-n', ns, '--timeout=30s']);
    const resources = (cpu: string) => ({ resources: { requests: { cpu }, limits: { cpu } } });

    await kubectl(['apply', '-n', ns, '-f', '-'], pod('fits', {}, resources('250m')));
    await expect(kubectl(['apply', '-n', ns, '-f', '-'], pod('too-big', {}, resources('400m')))).rejects.toThrow(
      /exceeded quota: small/,
    );
  });

  it('rejects a privileged pod in a namespace that enforces the restricted Pod Security level', async () => {
    const ns = await namespace('restricted', { 'pod-security.kubernetes.io/enforce': 'restricted' });

    await expect(
      kubectl(['apply', '-n', ns, '-f', '-'], pod('privileged', {}, { securityContext: { privileged: true } })),
    ).rejects.toThrow(/violates PodSecurity "restricted:latest"/);
  });

  it('answers 403 when a ServiceAccount without RBAC lists secrets', async () => {
    const ns = await namespace('rbac');
    await kubectl(['create', 'serviceaccount', 'nobody', '-n', ns]);
    const token = (await kubectl(['create', 'token', 'nobody', '-n', ns])).trim();
    const kubeconfig = await readFile(sut.kubeconfig, 'utf8');
    const server = /server: (\S+)/.exec(kubeconfig)![1]!;
    const ca = Buffer.from(/certificate-authority-data: (\S+)/.exec(kubeconfig)![1]!, 'base64');

    const status = await new Promise<number>((resolve, reject) => {
      request(
        `${server}/api/v1/namespaces/${ns}/secrets`,
        { ca, headers: { authorization: `Bearer ${token}` } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      )
        .on('error', reject)
        .end();
    });

    // 403, not 401: the token authenticates, and RBAC grants it nothing.
    expect(status).toBe(403);
  });

  it('finishes deleting a namespace with running pods (no namespace stuck Terminating)', async () => {
    const ns = await namespace('teardown');
    await kubectl(['create', 'deployment', 'web', '--image=registry.example/web:1', '--replicas=2', '-n', ns]);
    await kubectl(['create', 'configmap', 'settings', '--from-literal=a=b', '-n', ns]);
    await kubectl(['wait', '--for=condition=Available', 'deployment/web', '-n', ns, '--timeout=60s']);

    await kubectl(['delete', 'namespace', ns, '--wait=false']);
    await kubectl(['wait', '--for=delete', `namespace/${ns}`, '--timeout=90s']);

    expect(await kubectl(['get', 'namespace', ns, '--ignore-not-found', '-o', 'name'])).toBe('');
  });

  describe('NATS JetStream', () => {
    let nc: NatsConnection | undefined;

    afterEach(async () => {
      await nc?.close();
    });

    it('keeps a stream and its messages across a nats-server restart', async () => {
      const servers = await sut.natsUrl();
      const stream = uniqueName('durability').toUpperCase().replace(/-/g, '_');
      nc = await connect({ servers });
      await (
        await nc.jetstreamManager()
      ).streams.add({
        name: stream,
        subjects: [`${stream}.>`],
        storage: StorageType.File,
        retention: RetentionPolicy.Limits,
      });
      const js = nc.jetstream();
      for (const n of [1, 2, 3]) await js.publish(`${stream}.created`, new TextEncoder().encode(`store-${n}`));
      await nc.close();

      await sut.restart('nats-server');

      nc = await connect({ servers });
      const info = await (await nc.jetstreamManager()).streams.info(stream);
      expect(info.state.messages).toBe(3);
      const third = await (await nc.jetstreamManager()).streams.getMessage(stream, { seq: 3 });
      expect(new TextDecoder().decode(third.data)).toBe('store-3');
    });
  });
});
