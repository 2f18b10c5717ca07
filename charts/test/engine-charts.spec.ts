import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { eventually, testSandbox } from '@urumi/sandbox';
import {
  bytes,
  containersOf,
  EngineChart,
  engineCharts,
  Manifest,
  millicores,
  parseManifests,
  podsFor,
  podTemplates,
} from './engine-chart';

// These install charts into a real control plane and wait for pods, Jobs and namespace finalization.
jest.setTimeout(120_000);

const charts = engineCharts(resolve(__dirname, '..'));

/** What the provisioner creates itself; an engine chart must not. */
const PROVISIONER_OWNED_KINDS = ['Namespace', 'ResourceQuota', 'LimitRange', 'NetworkPolicy', 'Ingress', 'Secret'];

const CREDENTIALS_SECRET = 'store-credentials';

/** The values the provisioner sets (charts/README.md). */
const CONTRACT_VALUES = `store:
  name: fashion-boutique
  host: fashion-boutique.127.0.0.1.nip.io
  url: http://fashion-boutique.127.0.0.1.nip.io
  adminEmail: admin@fashion-boutique.127.0.0.1.nip.io
credentials:
  secretName: ${CREDENTIALS_SECRET}
persistence:
  storageClass: ''
`;

/** The `small` plan: what a chart may use in all (contract), and the quota the provisioner enforces. */
const SMALL_PLAN = {
  requests: { cpu: 900, memory: 1792 * 2 ** 20 },
  limits: { cpu: 1800, memory: 3584 * 2 ** 20 },
  storage: 8 * 2 ** 30,
  maxVolume: 5 * 2 ** 30,
};
const SMALL_QUOTA =
  'requests.cpu=1,requests.memory=2Gi,limits.cpu=2,limits.memory=4Gi,requests.storage=10Gi,' +
  'persistentvolumeclaims=4,pods=10,services=5,secrets=10,configmaps=10';
const SMALL_LIMIT_RANGE = {
  apiVersion: 'v1',
  kind: 'LimitRange',
  metadata: { name: 'small' },
  spec: {
    limits: [
      {
        type: 'Container',
        defaultRequest: { cpu: '100m', memory: '128Mi' },
        default: { cpu: '500m', memory: '512Mi' },
      },
      { type: 'PersistentVolumeClaim', max: { storage: '5Gi' } },
    ],
  },
};

const sandbox = testSandbox();
const kubectl = (args: string[], input?: string) => sandbox.kubectl(args, input);
const helm = (args: string[]) => sandbox.helm(args);

const workDir = mkdtempSync(join(tmpdir(), 'engine-charts-'));
const valuesFile = join(workDir, 'contract-values.yaml');
writeFileSync(valuesFile, CONTRACT_VALUES);

const createdNamespaces: string[] = [];

/** A fresh namespace labelled like the provisioner's, whose default ServiceAccount exists (so pods are admitted). */
async function namespace(prefix: string, podSecurity: string): Promise<string> {
  const name = `${prefix}-${Date.now().toString(36)}-${randomBytes(2).toString('hex')}`.slice(0, 63);
  createdNamespaces.push(name);
  await kubectl(['create', 'namespace', name]);
  await kubectl(['label', 'namespace', name, `pod-security.kubernetes.io/enforce=${podSecurity}`]);
  await kubectl(['wait', '--for=create', 'serviceaccount/default', '-n', name, '--timeout=30s']);
  return name;
}

/** What the provisioner prepares before it installs a store: credentials, the small plan's quota and limits. */
async function storeNamespace(chart: EngineChart): Promise<string> {
  const ns = await namespace(`install-${chart.name}`, chart.podSecurity);
  const secrets = chart.credentials.map((key) => `--from-literal=${key}=${randomBytes(24).toString('base64url')}`);
  await kubectl(['create', 'secret', 'generic', CREDENTIALS_SECRET, '-n', ns, ...secrets]);
  await kubectl(['create', 'quota', 'small', `--hard=${SMALL_QUOTA}`, '-n', ns]);
  await kubectl(['apply', '-n', ns, '-f', '-'], JSON.stringify(SMALL_LIMIT_RANGE));
  await kubectl(['wait', '--for=jsonpath={.status.hard.pods}=10', 'resourcequota/small', '-n', ns, '--timeout=30s']);
  return ns;
}

/** PVCs need a default StorageClass (the sandbox's host-path provisioner binds them). */
async function ensureDefaultStorageClass(): Promise<void> {
  const classes = JSON.parse(await kubectl(['get', 'storageclass', '-o', 'json'])) as {
    items: { metadata: { annotations?: Record<string, string> } }[];
  };
  const hasDefault = classes.items.some(
    (c) => c.metadata.annotations?.['storageclass.kubernetes.io/is-default-class'] === 'true',
  );
  if (hasDefault) return;
  await kubectl(
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: 'standard', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
      provisioner: 'kubernetes.io/host-path',
      volumeBindingMode: 'Immediate',
      reclaimPolicy: 'Delete',
    }),
  );
}

async function render(chart: EngineChart, ns = 'store-fashion-boutique', ...extra: string[]): Promise<string> {
  return helm(['template', 'store', chart.dir, '-n', ns, '-f', valuesFile, ...extra]);
}

/** The PVC names a StatefulSet's volumeClaimTemplates give its pods. */
function claimsOf(manifests: readonly Manifest[], statefulSet: string): string[] {
  const sts = manifests.find((o) => o.kind === 'StatefulSet' && o.metadata?.name === statefulSet)?.spec as {
    replicas?: number;
    volumeClaimTemplates?: { metadata: { name: string } }[];
  };
  return (sts.volumeClaimTemplates ?? []).flatMap((claim) =>
    Array.from({ length: sts.replicas ?? 1 }, (_, i) => `${claim.metadata.name}-${statefulSet}-${i}`),
  );
}

interface Items<T> {
  items: T[];
}
async function getJson<T>(args: string[]): Promise<T> {
  return JSON.parse(await kubectl([...args, '-o', 'json'])) as T;
}

afterAll(async () => {
  rmSync(workDir, { recursive: true, force: true });
  if (createdNamespaces.length) {
    await kubectl(['delete', 'namespace', ...createdNamespaces, '--ignore-not-found', '--wait=false']);
  }
});

/** Every chart's store namespace, prepared at once while the other tests run. */
const storeNamespaces = new Map<EngineChart, Promise<string>>();

beforeAll(() => {
  const storageClass = ensureDefaultStorageClass();
  for (const chart of charts) {
    const ns = storageClass.then(() => storeNamespace(chart));
    ns.catch(() => undefined); // awaited (and reported) by the chart's install test
    storeNamespaces.set(chart, ns);
  }
});

describe('engine charts', () => {
  it('finds the WooCommerce chart (and every other charts/store-* chart)', () => {
    expect(charts.map((chart) => chart.name)).toContain('store-woocommerce');
  });

  describe.each(charts.map((chart) => [chart.name, chart] as const))('%s', (_name, chart) => {
    let manifests: Manifest[];

    beforeAll(async () => {
      manifests = parseManifests(await render(chart));
    });

    it('declares its Pod Security level and credential keys in Chart.yaml', () => {
      expect(['baseline', 'restricted']).toContain(chart.podSecurity);
      expect(chart.credentials.length).toBeGreaterThan(0);
      expect(chart.credentials.every((key) => /^[a-z0-9][-a-z0-9]*$/.test(key))).toBe(true);
    });

    it('passes helm lint --strict with the contract values', async () => {
      await expect(helm(['lint', '--strict', chart.dir, '-f', valuesFile])).resolves.toMatch(/0 chart\(s\) failed/);
    });

    it('renders none of the kinds the provisioner owns, and no Helm hooks', () => {
      const kinds = manifests.map((object) => object.kind);
      expect(kinds.length).toBeGreaterThan(0);
      for (const kind of PROVISIONER_OWNED_KINDS) expect(kinds).not.toContain(kind);
      const hooks = manifests.filter((object) => object.metadata?.annotations?.['helm.sh/hook']);
      expect(hooks.map((object) => `${object.kind}/${object.metadata?.name}`)).toEqual([]);
    });

    it('reads every secret from the credentials Secret, exactly the keys Chart.yaml lists', () => {
      const templates = podTemplates(manifests);
      const keys = new Set<string>();
      for (const template of templates) {
        for (const container of containersOf(template.spec)) {
          for (const env of container.env ?? []) {
            const ref = env.valueFrom?.secretKeyRef;
            if (!ref) continue;
            expect(`${template.owner} ${env.name} from ${ref.name}`).toBe(
              `${template.owner} ${env.name} from ${CREDENTIALS_SECRET}`,
            );
            keys.add(ref.key);
          }
          expect(container.envFrom?.filter((source) => source.secretRef) ?? []).toEqual([]);
        }
        const secretVolumes = (template.spec.volumes ?? []).filter(
          (volume) => volume.secret || volume.projected?.sources?.some((source) => source.secret),
        );
        expect(secretVolumes).toEqual([]);
      }
      expect([...keys].sort()).toEqual([...chart.credentials].sort());
    });

    it('keeps the contract: storefront Service, labelled pods, resources within the small plan', () => {
      const storefront = manifests.find(
        (object) => object.kind === 'Service' && object.metadata?.name === 'storefront',
      );
      const service = storefront?.spec as { selector: Record<string, string>; ports: { name: string; port: number }[] };
      expect(service.ports).toContainEqual(expect.objectContaining({ name: 'http', port: 80 }));

      const templates = podTemplates(manifests);
      expect(templates.map((t) => t.owner)).toEqual(
        expect.arrayContaining([expect.stringMatching(/^Job\//), expect.stringMatching(/^(Deployment|StatefulSet)\//)]),
      );
      const served = templates.filter((t) =>
        Object.entries(service.selector).every(([key, value]) => t.metadata.labels?.[key] === value),
      );
      expect(served.length).toBeGreaterThan(0);
      for (const t of served) expect(t.metadata.labels?.['urumi.dev/role']).toBe('web');

      const requests = { cpu: 0, memory: 0 };
      const limits = { cpu: 0, memory: 0 };
      for (const t of templates) {
        expect(`${t.owner} part-of=${t.metadata.labels?.['app.kubernetes.io/part-of']}`).toBe(
          `${t.owner} part-of=urumi-store`,
        );
        expect(`${t.owner} automountServiceAccountToken=${t.spec.automountServiceAccountToken}`).toBe(
          `${t.owner} automountServiceAccountToken=false`,
        );
        for (const c of containersOf(t.spec)) {
          const r = c.resources;
          expect([
            c.name,
            r?.requests?.['cpu'],
            r?.requests?.['memory'],
            r?.limits?.['cpu'],
            r?.limits?.['memory'],
          ]).toEqual([c.name, expect.anything(), expect.anything(), expect.anything(), expect.anything()]);
          expect([c.name, c.securityContext?.allowPrivilegeEscalation, c.securityContext?.capabilities?.drop]).toEqual([
            c.name,
            false,
            ['ALL'],
          ]);
          const seccomp = c.securityContext?.seccompProfile?.type ?? t.spec.securityContext?.seccompProfile?.type;
          expect([c.name, seccomp]).toEqual([c.name, 'RuntimeDefault']);
        }
        for (const c of t.spec.containers) {
          requests.cpu += t.replicas * millicores(c.resources?.requests?.['cpu']);
          requests.memory += t.replicas * bytes(c.resources?.requests?.['memory']);
          limits.cpu += t.replicas * millicores(c.resources?.limits?.['cpu']);
          limits.memory += t.replicas * bytes(c.resources?.limits?.['memory']);
        }
      }
      expect(requests.cpu).toBeLessThanOrEqual(SMALL_PLAN.requests.cpu);
      expect(requests.memory).toBeLessThanOrEqual(SMALL_PLAN.requests.memory);
      expect(limits.cpu).toBeLessThanOrEqual(SMALL_PLAN.limits.cpu);
      expect(limits.memory).toBeLessThanOrEqual(SMALL_PLAN.limits.memory);

      const claims: { resources: { requests: { storage: string } } }[] = manifests.flatMap((o) => {
        if (o.kind === 'PersistentVolumeClaim') return [o.spec as never];
        if (o.kind !== 'StatefulSet') return [];
        const sts = o.spec as { replicas?: number; volumeClaimTemplates?: { spec: never }[] };
        return Array.from({ length: sts.replicas ?? 1 }, () =>
          (sts.volumeClaimTemplates ?? []).map((c) => c.spec),
        ).flat();
      });
      const sizes = claims.map((claim) => bytes(claim.resources.requests.storage));
      for (const size of sizes) expect(size).toBeLessThanOrEqual(SMALL_PLAN.maxVolume);
      expect(sizes.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(SMALL_PLAN.storage);
    });

    it('has its setup Job write to the same volumes the workloads keep, never to a scratch copy of them', () => {
      const templates = podTemplates(manifests);
      /** mountPath → claim, for every persistent mount of a long-running workload. */
      const persistent = new Map<string, string>();
      for (const t of templates.filter((t) => !t.owner.startsWith('Job/'))) {
        for (const c of containersOf(t.spec)) {
          for (const mount of c.volumeMounts ?? []) {
            const claim = t.spec.volumes?.find((v) => v.name === mount.name)?.persistentVolumeClaim?.claimName;
            if (claim) persistent.set(mount.mountPath, claim);
          }
        }
      }
      const jobMounts = templates
        .filter((t) => t.owner.startsWith('Job/'))
        .flatMap((t) =>
          containersOf(t.spec).flatMap((c) =>
            (c.volumeMounts ?? [])
              .filter((mount) => persistent.has(mount.mountPath))
              .map((mount) => ({
                path: mount.mountPath,
                claim: t.spec.volumes?.find((v) => v.name === mount.name)?.persistentVolumeClaim?.claimName,
              })),
          ),
        );
      expect(jobMounts).toEqual(jobMounts.map(({ path }) => ({ path, claim: persistent.get(path) })));
    });

    it('renames its setup Job when the values change, and only then', async () => {
      const jobNames = async (...extra: string[]) =>
        parseManifests(await render(chart, 'store-fashion-boutique', ...extra))
          .filter((object) => object.kind === 'Job')
          .map((object) => object.metadata?.name);
      const [before, again, changed] = await Promise.all([
        jobNames(),
        jobNames(),
        jobNames('--set', 'store.name=another-boutique'),
      ]);
      expect(before.length).toBeGreaterThan(0);
      expect(again).toEqual(before);
      expect(changed).not.toEqual(before);
    });

    it('has a values schema that rejects a misspelled value', async () => {
      await expect(render(chart, 'store-fashion-boutique', '--set', 'persistance.size=1Gi')).rejects.toThrow(
        /values don't meet the specifications of the schema[\s\S]*additional properties 'persistance' not allowed/,
      );
    });

    it(`is admitted by the API server under Pod Security "${chart.podSecurity}"`, async () => {
      const ns = await namespace(`psa-${chart.name}`, chart.podSecurity);
      // The chart's own output as helm renders it, plus its pod templates as Pods (the JSON documents are YAML too).
      const rendered = await render(chart, ns);
      const pods = podsFor(podTemplates(manifests));
      const input = [rendered, ...pods.map((pod) => JSON.stringify(pod))].join('\n---\n');

      const applied = await kubectl(['apply', '--server-side', '--dry-run=server', '-n', ns, '-f', '-'], input);

      expect(applied.match(/serverside-applied \(server dry run\)/g)).toHaveLength(manifests.length + pods.length);
    });

    // Only a baseline chart has a stricter level to be refused by.
    if (chart.podSecurity === 'baseline') {
      it('is rejected under Pod Security "restricted" (its baseline declaration is needed)', async () => {
        const ns = await namespace(`psa-${chart.name}`, 'restricted');
        const pods = podsFor(podTemplates(manifests));

        await expect(
          kubectl(
            ['apply', '--server-side', '--dry-run=server', '-n', ns, '-f', '-'],
            JSON.stringify({ apiVersion: 'v1', kind: 'List', items: pods }),
          ),
        ).rejects.toThrow(/violates PodSecurity "restricted:latest"/);
      });
    }

    it('installs into a store namespace under the small quota, becomes ready, upgrades within it, and uninstalls without a trace', async () => {
      const ns = await storeNamespaces.get(chart)!;
      const templates = podTemplates(manifests);
      const expectedPods = templates.reduce((sum, t) => sum + t.replicas, 0);

      await helm(['install', 'store', chart.dir, '-n', ns, '-f', valuesFile]);

      const named = (kind: string) => manifests.filter((o) => o.kind === kind).map((o) => o.metadata?.name ?? '');
      const wait = (target: string, condition: string, timeout = '90s') =>
        kubectl(['wait', `--for=${condition}`, target, '-n', ns, `--timeout=${timeout}`]);
      // Volumes first: without a bound claim no database pod is scheduled, and this says so.
      await Promise.all(
        [...named('PersistentVolumeClaim'), ...named('StatefulSet').flatMap((sts) => claimsOf(manifests, sts))].map(
          // A StatefulSet's claims appear only once its controller has run.
          async (claim) => {
            await wait(`pvc/${claim}`, 'create', '30s');
            await wait(`pvc/${claim}`, 'jsonpath={.status.phase}=Bound', '30s');
          },
        ),
      );
      await Promise.all([
        ...named('Deployment').map((name) => wait(`deployment/${name}`, 'condition=Available')),
        ...named('StatefulSet').map((name) =>
          kubectl(['rollout', 'status', `statefulset/${name}`, '-n', ns, '--timeout=90s']),
        ),
        ...named('Job').map((name) => wait(`job/${name}`, 'condition=Complete')),
      ]);
      const pods = await getJson<Items<{ metadata: { name: string } }>>(['get', 'pods', '-n', ns]);
      expect(pods.items).toHaveLength(expectedPods);
      const events = await getJson<Items<{ reason: string; message: string }>>(['get', 'events', '-n', ns]);
      // A quota update that lost a write race ("the object has been modified") is retried by the controller: not a
      // denial. Anything else that failed a create, or any quota denial, is.
      const lostRace = (e: { message: string }) => /the object has been modified/.test(e.message);
      expect(
        events.items.filter((e) => (e.reason === 'FailedCreate' && !lostRace(e)) || /exceeded quota/.test(e.message)),
      ).toEqual([]);
      const claims = await getJson<Items<{ status: { phase: string } }>>(['get', 'pvc', '-n', ns]);
      expect(claims.items.map((c) => c.status.phase)).toEqual(claims.items.map(() => 'Bound'));

      // An engine upgrade (a new image tag) rolls every workload and runs the setup Job again, all under the same quota.
      const upgradeArgs = ['-f', valuesFile, '--set', 'image.tag=upgrade-check'];
      const upgraded = parseManifests(await render(chart, ns, ...upgradeArgs));
      await helm(['upgrade', 'store', chart.dir, '-n', ns, ...upgradeArgs]);
      await Promise.all([
        ...named('Deployment').map((name) =>
          kubectl(['rollout', 'status', `deployment/${name}`, '-n', ns, '--timeout=90s']),
        ),
        ...upgraded
          .filter((o) => o.kind === 'Job')
          .map((job) => wait(`job/${job.metadata?.name}`, 'condition=Complete')),
      ]);
      // A pod refused while its predecessor still terminates is retried; what counts is that the upgrade completes.
      await eventually(async () => {
        const after = await getJson<Items<{ metadata: { name: string } }>>(['get', 'pods', '-n', ns]);
        expect(after.items).toHaveLength(expectedPods);
      }, 30_000);

      await helm(['uninstall', 'store', '-n', ns, '--wait', '--timeout=60s']);
      await eventually(async () => {
        const left = await kubectl([
          'get',
          'all,pvc,configmap,secret,serviceaccount,role,rolebinding',
          '-n',
          ns,
          '-o',
          'name',
        ]);
        // What the provisioner and Kubernetes put there: the credentials, the CA bundle, the default ServiceAccount.
        expect(left.trim().split('\n').sort()).toEqual([
          'configmap/kube-root-ca.crt',
          `secret/${CREDENTIALS_SECRET}`,
          'serviceaccount/default',
        ]);
      }, 30_000);

      await kubectl(['delete', 'namespace', ns, '--wait=false']);
      await kubectl(['wait', '--for=delete', `namespace/${ns}`, '--timeout=60s']);
      await eventually(async () => {
        const volumes = await getJson<
          Items<{ metadata: { name: string }; spec: { claimRef?: { namespace?: string } } }>
        >(['get', 'pv']);
        expect(volumes.items.filter((pv) => pv.spec.claimRef?.namespace === ns).map((pv) => pv.metadata.name)).toEqual(
          [],
        );
      }, 30_000);
    });
  });
});
