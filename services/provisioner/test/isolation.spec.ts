import { request } from 'node:http';
import type { Store } from '@urumi/kube';
import {
  CLUSTER_DNS,
  eventually,
  INGRESS_CONTROLLER,
  REAL_NODE_LABEL,
  REAL_NODE_TAINT,
  testSandbox,
} from '@urumi/sandbox';
import { Fence, guardrailManifests, namespaceManifest } from '../src/desired-state';
import { readEngineChart } from '../src/engines';

// Real pods start on the real node, and every blocked connection waits out its timeout.
jest.setTimeout(300_000);

const CHARTS_DIR = `${__dirname}/../../../charts`;
const REAL_NODE = {
  nodeSelector: { [REAL_NODE_LABEL.key]: REAL_NODE_LABEL.value },
  tolerations: [{ ...REAL_NODE_TAINT, operator: 'Equal' }],
};
/** The fence the provisioner builds in the sandbox: Traefik as the ingress controller, CoreDNS as the cluster DNS. */
const FENCE: Fence = {
  ingressClass: INGRESS_CONTROLLER.ingressClass,
  ingressController: { namespace: INGRESS_CONTROLLER.namespace, podLabels: INGRESS_CONTROLLER.podLabels },
  dns: CLUSTER_DNS,
  tls: { mode: 'none' },
};
/** Answers any TCP connection with an HTTP 200 naming the pod: what each probe pod serves on its port. */
const SERVER = `require('http').createServer((q, s) => s.end(process.env.POD + '\\n')).listen(Number(process.env.PORT))`;
/** Prints `open` when a TCP connection to argv host:port is accepted within 2 s, else what stopped it. */
const CONNECT = `const [host, port] = process.argv.slice(1);
const s = require('net').connect({ host, port: Number(port), timeout: 2000 });
s.on('connect', () => { console.log('open'); process.exit(0); });
s.on('timeout', () => { console.log('timed out'); process.exit(0); });
s.on('error', (e) => { console.log(e.code); process.exit(0); });`;

/** What a connection the policy enforcer stops ends in: dropped (a timeout) or rejected. */
const BLOCKED = ['timed out', 'ECONNREFUSED'];

interface ProbePod {
  readonly namespace: string;
  readonly name: string;
  readonly ip: string;
  readonly serviceIp: string;
  readonly port: number;
}

describe('a store’s fence on the real node', () => {
  const sandbox = testSandbox();
  const suffix = Date.now().toString(36);
  const kubectl = (args: string[], input?: string) => sandbox.kubectl(args, input);
  const storeA = store(`iso-a-${suffix}`);
  const storeB = store(`iso-b-${suffix}`);
  const outside = `iso-outside-${suffix}`;
  let image: string;
  const pods: Record<string, ProbePod> = {};

  function store(name: string): Store {
    return {
      apiVersion: 'urumi.dev/v1alpha1',
      kind: 'Store',
      metadata: { name },
      spec: { storeId: name, engine: 'medusa', owner: 'alice', plan: 'small', domain: `${name}.test` },
    };
  }

  function podManifest(namespace: string, name: string, port: number, labels: Record<string, string>): string {
    const container = {
      name: 'probe',
      image,
      command: ['node', '-e', SERVER],
      env: [
        { name: 'POD', value: `${namespace}/${name}` },
        { name: 'PORT', value: String(port) },
      ],
      ports: [{ containerPort: port }],
      readinessProbe: { tcpSocket: { port }, periodSeconds: 1 },
      resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { cpu: '200m', memory: '96Mi' } },
      securityContext: {
        runAsNonRoot: true,
        runAsUser: 1000,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
        seccompProfile: { type: 'RuntimeDefault' },
      },
    };
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace, labels: { probe: name, ...labels } },
      spec: { ...REAL_NODE, automountServiceAccountToken: false, containers: [container] },
    };
    const service = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace },
      spec: { selector: { probe: name }, ports: [{ port, targetPort: port }] },
    };
    return [pod, service].map((o) => JSON.stringify(o)).join('\n---\n');
  }

  async function startProbe(namespace: string, name: string, port: number, labels: Record<string, string> = {}) {
    await kubectl(['apply', '-f', '-'], podManifest(namespace, name, port, labels));
    await kubectl(['wait', '--for=condition=Ready', `pod/${name}`, '-n', namespace, '--timeout=180s']);
    const ip = (await kubectl(['get', 'pod', name, '-n', namespace, '-o', 'jsonpath={.status.podIP}'])).trim();
    const serviceIp = (
      await kubectl(['get', 'service', name, '-n', namespace, '-o', 'jsonpath={.spec.clusterIP}'])
    ).trim();
    pods[`${namespace}/${name}`] = { namespace, name, ip, serviceIp, port };
  }

  /** Whether `from` can open a TCP connection to host:port (a real connect from inside the pod). */
  async function reaches(from: ProbePod, host: string, port: number): Promise<string> {
    return (
      await kubectl(['exec', '-n', from.namespace, from.name, '--', 'node', '-e', CONNECT, host, String(port)])
    ).trim();
  }

  const probe = (store: Store | string, name: string): ProbePod => {
    const namespace = typeof store === 'string' ? store : `store-${store.metadata.name}`;
    const found = pods[`${namespace}/${name}`];
    if (!found) throw new Error(`no probe pod ${namespace}/${name}`);
    return found;
  };

  beforeAll(async () => {
    image = (await sandbox.nodeImages()).node22;
    const chart = readEngineChart(CHARTS_DIR, 'medusa');
    for (const s of [storeA, storeB]) {
      const manifests = [namespaceManifest(s, chart), ...guardrailManifests(s, FENCE)];
      await kubectl(['apply', '-f', '-'], manifests.map((m) => JSON.stringify(m)).join('\n---\n'));
      const namespace = `store-${s.metadata.name}`;
      await kubectl(['wait', '--for=create', 'serviceaccount/default', '-n', namespace, '--timeout=60s']);
      await startProbe(namespace, 'web', 8080, { 'urumi.dev/role': 'web' });
      await startProbe(namespace, 'db', 5432);
    }
    // An unfenced namespace standing in for the platform's: NATS's port, and a pod to prove the probes can connect.
    await kubectl(['create', 'namespace', outside]);
    await kubectl(['wait', '--for=create', 'serviceaccount/default', '-n', outside, '--timeout=60s']);
    await startProbe(outside, 'nats', 4222);
  });

  afterAll(async () => {
    await kubectl([
      'delete',
      'namespace',
      `store-${storeA.metadata.name}`,
      `store-${storeB.metadata.name}`,
      outside,
      '--wait=false',
    ]);
  });

  it('reaches its own database and resolves names through the cluster DNS', async () => {
    const web = probe(storeA, 'web');
    const db = probe(storeA, 'db');
    expect(await reaches(web, `db.${db.namespace}.svc.cluster.local`, db.port)).toBe('open');
    expect(await reaches(web, db.ip, db.port)).toBe('open');
  });

  it('cannot open a connection to another store’s pods or Services', async () => {
    const web = probe(storeA, 'web');
    for (const target of [probe(storeB, 'web'), probe(storeB, 'db')]) {
      expect(BLOCKED).toContain(await reaches(web, target.ip, target.port));
      expect(BLOCKED).toContain(await reaches(web, target.serviceIp, target.port));
    }
  });

  it('cannot reach a pod outside its store, nor the API server, which an unfenced pod can', async () => {
    const web = probe(storeA, 'web');
    const nats = probe(outside, 'nats');
    // The API server as pods reach it: the `kubernetes` Service (pods have no route to its address outside).
    const targets: [string, number][] = [
      [nats.ip, nats.port],
      [nats.serviceIp, nats.port],
      ['10.96.0.1', 443],
    ];
    for (const [host, port] of targets) expect(BLOCKED).toContain(await reaches(web, host, port));
    // The same connections from outside the fence succeed: what blocks them is the store's policy.
    await startProbe(outside, 'control', 8080);
    for (const [host, port] of targets) expect(await reaches(probe(outside, 'control'), host, port)).toBe('open');
  });

  it('lets the ingress controller reach the store’s web pods and nothing else in it', async () => {
    const namespace = `store-${storeA.metadata.name}`;
    const ingress = (name: string, port: number) => ({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name, namespace },
      spec: {
        ingressClassName: FENCE.ingressClass,
        rules: [
          {
            host: `${name}.${storeA.spec.domain}`,
            http: {
              paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name, port: { number: port } } } }],
            },
          },
        ],
      },
    });
    await kubectl(
      ['apply', '-f', '-'],
      [ingress('web', 8080), ingress('db', 5432)].map((o) => JSON.stringify(o)).join('\n---\n'),
    );
    const port = (await sandbox.ports()).ingress;
    const web = await eventually(
      async () => {
        const response = await get(port, `web.${storeA.spec.domain}`);
        expect(response.status).toBe(200);
        return response;
      },
      60_000,
      500,
    );
    expect(web.body).toBe(`${namespace}/web\n`);
    // Once Traefik serves the route (404 before), its connection to the database pod is stopped: a gateway error.
    await eventually(
      async () => expect([502, 504]).toContain((await get(port, `db.${storeA.spec.domain}`)).status),
      60_000,
      500,
    );
  });

  it('refuses privileged, hostPath, hostNetwork and root pods at admission', async () => {
    const namespace = `store-${storeA.metadata.name}`;
    const attempts: Record<string, Record<string, unknown>> = {
      privileged: { containers: [{ name: 'c', image, securityContext: { privileged: true } }] },
      hostPath: {
        containers: [{ name: 'c', image, volumeMounts: [{ name: 'h', mountPath: '/host' }] }],
        volumes: [{ name: 'h', hostPath: { path: '/' } }],
      },
      hostNetwork: { hostNetwork: true, containers: [{ name: 'c', image }] },
      root: { securityContext: { runAsUser: 0 }, containers: [{ name: 'c', image }] },
    };
    for (const [name, spec] of Object.entries(attempts)) {
      const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: name.toLowerCase(), namespace }, spec };
      await expect(kubectl(['apply', '--dry-run=server', '-f', '-'], JSON.stringify(pod))).rejects.toThrow(
        /violates PodSecurity "restricted:latest"/,
      );
    }
  });
});

/** GETs / from the ingress controller's loopback port with a Host header, as a browser at that name would. */
function get(port: number, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', headers: { host }, timeout: 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${host} in 30s`)));
    req.on('error', reject);
    req.end();
  });
}
