import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadYaml } from '@kubernetes/client-node';
import type {
  V1ConfigMap,
  V1Deployment,
  V1Ingress,
  V1NetworkPolicy,
  V1PolicyRule,
  V1Secret,
  V1Service,
} from '@kubernetes/client-node';
import { SERVICE_NODE_FLAGS, testSandbox, versions } from '@urumi/sandbox';
import { bytes, containersOf, Manifest, parseManifests, podsFor, podTemplates } from './engine-chart';

// Renders, dry-runs and installs the platform chart on the sandbox (KWOK plays the kubelet: no container runs).
jest.setTimeout(120_000);

const repoRoot = resolve(__dirname, '../..');
const chartDir = join(repoRoot, 'charts/platform');
const valuesFiles = { local: join(chartDir, 'values-local.yaml'), prod: join(chartDir, 'values-prod.yaml') };
const dockerfile = readFileSync(join(repoRoot, 'deploy/images/Dockerfile'), 'utf8');

const SERVICES = ['gateway', 'quota', 'provisioner', 'cleanup'] as const;
const PORTS: Record<(typeof SERVICES)[number], number> = {
  gateway: 8080,
  quota: 8081,
  provisioner: 8082,
  cleanup: 8083,
};

const sandbox = testSandbox();
const kubectl = (args: string[], input?: string) => sandbox.kubectl(args, input);
const helm = (args: string[]) => sandbox.helm(args);

/** A unique name per test run: the sandbox is shared by every test file of the run. */
const unique = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${randomBytes(2).toString('hex')}`;

const createdNamespaces: string[] = [];
const installedReleases: { release: string; namespace: string }[] = [];

/** A namespace that enforces Pod Security "restricted", as the platform's namespace does. */
async function restrictedNamespace(prefix: string): Promise<string> {
  const name = unique(prefix);
  createdNamespaces.push(name);
  await kubectl(['create', 'namespace', name]);
  await kubectl(['label', 'namespace', name, 'pod-security.kubernetes.io/enforce=restricted']);
  await kubectl(['wait', '--for=create', 'serviceaccount/default', '-n', name, '--timeout=30s']);
  return name;
}

function render(release: string, namespace: string, ...extra: string[]): Promise<string> {
  return helm(['template', release, chartDir, '-n', namespace, ...extra]);
}

function find<T>(manifests: readonly Manifest[], kind: string, name: string): T {
  const found = manifests.find((o) => o.kind === kind && o.metadata?.name === name);
  if (!found) throw new Error(`no ${kind}/${name} among ${manifests.map((o) => `${o.kind}/${o.metadata?.name}`)}`);
  return found as unknown as T;
}

function envOf(deployment: V1Deployment): Record<string, string> {
  const [container] = deployment.spec!.template.spec!.containers;
  return Object.fromEntries((container!.env ?? []).map((e) => [e.name, e.value ?? '']));
}

interface Images {
  image?: { repository?: string };
}
type EngineValues = Record<string, Images & { mariadb?: Images; postgres?: Images; redis?: Images }>;

/** The provisioner's engine value overrides, as the files in its ConfigMap hold them. */
function engineValuesOf(manifests: readonly Manifest[]): EngineValues {
  const data = find<V1ConfigMap>(manifests, 'ConfigMap', 'urumi-provisioner-engine-values').data ?? {};
  return Object.fromEntries(Object.entries(data).map(([file, text]) => [file.replace(/\.yaml$/, ''), loadYaml(text)]));
}

function tokensFile(): string {
  const token = () => randomBytes(24).toString('hex');
  return JSON.stringify([
    { name: 'admin', role: 'admin', token: token() },
    { name: 'alice', role: 'tenant', token: token() },
    { name: 'bob', role: 'tenant', token: token() },
  ]);
}

afterAll(async () => {
  for (const { release, namespace } of installedReleases) {
    await helm(['uninstall', release, '-n', namespace, '--wait', '--timeout=60s']).catch(() => undefined);
  }
  if (createdNamespaces.length) {
    await kubectl(['delete', 'namespace', ...createdNamespaces, '--ignore-not-found', '--wait=false']);
  }
});

describe('platform chart', () => {
  describe.each(Object.entries(valuesFiles))('with values-%s.yaml', (flavour, valuesFile) => {
    let manifests: Manifest[];

    beforeAll(async () => {
      manifests = parseManifests(await render('urumi', 'urumi-system', '-f', valuesFile));
    });

    it('passes helm lint --strict', async () => {
      await expect(helm(['lint', '--strict', chartDir, '-f', valuesFile])).resolves.toMatch(/0 chart\(s\) failed/);
    });

    it('runs every service and NATS non-root on a read-only filesystem, with probes and resources', () => {
      const templates = podTemplates(manifests);
      expect(templates.map((t) => t.owner).sort()).toEqual(
        [...SERVICES.map((s) => `Deployment/urumi-${s}`), 'StatefulSet/urumi-nats'].sort(),
      );
      for (const t of templates) {
        expect([t.owner, t.spec.securityContext?.runAsNonRoot, t.spec.securityContext?.seccompProfile?.type]).toEqual([
          t.owner,
          true,
          'RuntimeDefault',
        ]);
        for (const c of containersOf(t.spec)) {
          const sc = c.securityContext;
          expect([t.owner, sc?.readOnlyRootFilesystem, sc?.allowPrivilegeEscalation, sc?.capabilities?.drop]).toEqual([
            t.owner,
            true,
            false,
            ['ALL'],
          ]);
          expect([t.owner, c.resources?.requests?.['memory'], c.resources?.limits?.['memory']]).toEqual([
            t.owner,
            expect.anything(),
            expect.anything(),
          ]);
          expect([t.owner, !!c.livenessProbe, !!c.readinessProbe]).toEqual([t.owner, true, true]);
        }
      }
    });

    it("sizes the provisioner's memory limit for its own heap plus every Helm child it may run at once", () => {
      const provisioner = podTemplates(manifests).find((t) => t.owner === 'Deployment/urumi-provisioner')!;
      const [container] = provisioner.spec.containers;
      const helmConcurrency = Number(container!.env!.find((e) => e.name === 'PROVISIONER_HELM_CONCURRENCY')!.value);
      const workers = Number(container!.env!.find((e) => e.name === 'PROVISIONER_WORKERS')!.value);
      // Measured: the service peaks near 175 MiB under 100 stores, `helm upgrade --install` near 70 MiB.
      const needed = (180 + 80 * helmConcurrency) * 2 ** 20;

      expect(helmConcurrency).toBeLessThanOrEqual(workers);
      expect(bytes(container!.resources!.limits!['memory'])).toBeGreaterThanOrEqual(needed);
    });

    it('configures each service: its port, probes on /healthz and /readyz, NATS, the heap flags', () => {
      const values = readFileSync(join(chartDir, 'values.yaml'), 'utf8');
      const nodeOptions = /^nodeOptions: (.+)$/m.exec(values)![1];
      // The same Node.js flags as the services get when they run locally.
      expect(nodeOptions).toBe(SERVICE_NODE_FLAGS.join(' '));
      for (const service of SERVICES) {
        const deployment = find<V1Deployment>(manifests, 'Deployment', `urumi-${service}`);
        const container = deployment.spec!.template.spec!.containers[0]!;
        const env = envOf(deployment);
        expect(container.ports).toEqual([
          expect.objectContaining({ name: 'http', containerPort: PORTS[service] }),
          ...(service === 'gateway' ? [expect.objectContaining({ name: 'metrics', containerPort: 9090 })] : []),
        ]);
        expect([container.livenessProbe?.httpGet?.path, container.readinessProbe?.httpGet?.path]).toEqual([
          '/healthz',
          '/readyz',
        ]);
        // The gateway takes traffic: it serves on for 5 s after it is told to stop, while the ingress lets go of it.
        expect(container.lifecycle?.preStop?.sleep?.seconds).toBe(service === 'gateway' ? 5 : undefined);
        expect(env).toMatchObject({
          [`${service.toUpperCase()}_HOST`]: '0.0.0.0',
          [`${service.toUpperCase()}_PORT`]: String(PORTS[service]),
          NATS_URL: 'nats://urumi-nats.urumi-system.svc.cluster.local:4222',
          // Its own NATS user; as many copies of each stream as there are NATS servers.
          NATS_USER: service,
          NATS_REPLICAS: flavour === 'prod' ? '3' : '1',
          NODE_OPTIONS: nodeOptions,
        });
        expect(container.env?.find((e) => e.name === 'NATS_PASSWORD')?.valueFrom).toEqual({
          secretKeyRef: { name: 'urumi-nats-auth', key: service },
        });
        // Only the operators get a token for the API server.
        const operator = service === 'provisioner' || service === 'cleanup';
        expect([service, deployment.spec!.template.spec!.automountServiceAccountToken]).toEqual([service, operator]);
      }
      // The images run with the same heap flags when started without the chart.
      expect(dockerfile).toContain(`NODE_OPTIONS="${nodeOptions}"`);
    });

    it("mounts each engine's value overrides into the provisioner, restarting it when they change", () => {
      const pod = find<V1Deployment>(manifests, 'Deployment', 'urumi-provisioner').spec!.template;
      expect(pod.spec!.volumes).toContainEqual({
        name: 'engine-values',
        configMap: { name: 'urumi-provisioner-engine-values' },
      });
      expect(pod.spec!.containers[0]!.volumeMounts).toContainEqual({
        name: 'engine-values',
        mountPath: envOf({ spec: { template: pod } } as V1Deployment)['ENGINE_VALUES_DIR'],
        readOnly: true,
      });
      expect(pod.metadata?.annotations?.['checksum/config']).toMatch(/^[0-9a-f]{64}$/);
    });

    it("keeps the gateway's /metrics off its Service and the Ingress", () => {
      const service = find<V1Service>(manifests, 'Service', 'urumi-gateway');
      expect(service.spec!.ports!.map((port) => port.targetPort)).toEqual(['http']);
      const ingress = find<V1Ingress>(manifests, 'Ingress', 'urumi-console');
      const backends = ingress.spec!.rules!.flatMap((rule) => rule.http!.paths.map((path) => path.backend.service));
      expect(backends).toEqual([{ name: 'urumi-gateway', port: { name: 'http' } }]);
      const gateway = envOf(find<V1Deployment>(manifests, 'Deployment', 'urumi-gateway'));
      expect(gateway['GATEWAY_METRICS_PORT']).toBe('9090');
    });

    it('runs the provisioner and cleanup as replicas electing a leader on a Lease each, rolled without a gap', () => {
      for (const service of ['provisioner', 'cleanup']) {
        const deployment = find<V1Deployment>(manifests, 'Deployment', `urumi-${service}`);
        expect([service, deployment.spec!.replicas, deployment.spec!.strategy]).toEqual([
          service,
          flavour === 'prod' ? 2 : 1,
          { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
        ]);
        expect(envOf(deployment)).toMatchObject({
          LEADER_ELECTION: 'true',
          LEADER_ELECTION_NAMESPACE: 'urumi-system',
          LEADER_ELECTION_LEASE_NAME: `urumi-${service}`,
          LEASE_DURATION_SECONDS: '15',
          RENEW_DEADLINE_SECONDS: '10',
          RETRY_PERIOD_SECONDS: '2',
        });
        // The identity in the Lease starts with the pod's own name.
        const [container] = deployment.spec!.template.spec!.containers;
        expect(container!.env!.find((e) => e.name === 'POD_NAME')?.valueFrom).toEqual({
          fieldRef: { fieldPath: 'metadata.name' },
        });
      }
      expect(manifests.filter((o) => o.kind === 'HorizontalPodAutoscaler').map((o) => o.metadata?.name)).not.toEqual(
        expect.arrayContaining(['urumi-provisioner', 'urumi-cleanup']),
      );
    });

    it('fences the namespace: deny by default, the ingress controller to the gateway only, DNS for all', () => {
      const policies = manifests.filter((o) => o.kind === 'NetworkPolicy') as unknown as V1NetworkPolicy[];
      const deny = find<V1NetworkPolicy>(manifests, 'NetworkPolicy', 'urumi-default-deny');
      expect(deny.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
      const ingressRules = policies.flatMap((p) =>
        (p.spec?.ingress ?? []).map((rule) => ({ pods: p.spec?.podSelector?.matchLabels, rule })),
      );
      const controllerNamespace = flavour === 'local' ? 'ingress-nginx' : 'kube-system';
      const fromIngressController = ingressRules.filter((r) =>
        r.rule._from?.some(
          (peer) => peer.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'] === controllerNamespace,
        ),
      );
      expect(fromIngressController.map((r) => [r.pods?.['app.kubernetes.io/component'], r.rule.ports])).toEqual([
        ['gateway', [{ protocol: 'TCP', port: 8080 }]],
      ]);
      expect(fromIngressController[0]!.rule._from).toHaveLength(1);
      const dns = find<V1NetworkPolicy>(manifests, 'NetworkPolicy', 'urumi-dns');
      expect(dns.spec?.podSelector).toEqual({});
      expect(dns.spec?.egress?.[0]?.ports).toEqual([
        { protocol: 'UDP', port: 53 },
        { protocol: 'TCP', port: 53 },
      ]);
      // Only the operators reach the API server.
      const apiServerPorts = (name: string) =>
        find<V1NetworkPolicy>(manifests, 'NetworkPolicy', name)
          .spec?.egress?.filter((rule) => rule.to?.some((peer) => peer.ipBlock))
          .flatMap((rule) => rule.ports?.map((p) => p.port));
      expect(apiServerPorts('urumi-provisioner')).toEqual([443, 6443]);
      expect(apiServerPorts('urumi-cleanup')).toEqual([443, 6443]);
      expect(apiServerPorts('urumi-quota')).toEqual([]);
    });

    it("gives the provisioner the ingress controller's and DNS's pods, and the gateway the platform's hosts", () => {
      const provisioner = envOf(find<V1Deployment>(manifests, 'Deployment', 'urumi-provisioner'));
      const gateway = envOf(find<V1Deployment>(manifests, 'Deployment', 'urumi-gateway'));
      const controller =
        flavour === 'local'
          ? ['ingress-nginx', { 'app.kubernetes.io/name': 'ingress-nginx' }]
          : ['kube-system', { 'app.kubernetes.io/name': 'traefik' }];
      expect([
        provisioner['INGRESS_NAMESPACE'],
        JSON.parse(provisioner['INGRESS_POD_LABELS']!),
        provisioner['DNS_NAMESPACE'],
        JSON.parse(provisioner['DNS_POD_LABELS']!),
      ]).toEqual([...controller, 'kube-system', { 'k8s-app': 'kube-dns' }]);
      expect(gateway['PLATFORM_HOSTS']).toBe(flavour === 'local' ? 'console.127.0.0.1.nip.io' : 'console.example.com');
    });

    if (flavour === 'local') {
      it('is the laptop setup: nip.io over http, imported images, a tokens file, one NATS server', () => {
        const gateway = envOf(find<V1Deployment>(manifests, 'Deployment', 'urumi-gateway'));
        expect(gateway).toMatchObject({
          AUTH_MODE: 'tokens',
          AUTH_TOKENS_FILE: '/etc/urumi/auth/tokens.json',
          ALLOWED_ORIGINS: 'http://console.127.0.0.1.nip.io',
          STORE_URL_SCHEME: 'http',
        });
        const provisioner = find<V1Deployment>(manifests, 'Deployment', 'urumi-provisioner');
        expect(envOf(provisioner)).toMatchObject({
          STORE_TLS: 'none',
          STORE_STORAGE_CLASS: '',
          ENGINE_VALUES_DIR: '/etc/urumi/engine-values',
        });
        expect(envOf(provisioner)['STORE_TLS_CLUSTER_ISSUER']).toBeUndefined();
        expect(engineValuesOf(manifests)).toEqual({ woocommerce: {}, medusa: {} });
        const ingress = find<V1Ingress>(manifests, 'Ingress', 'urumi-console');
        expect(ingress.spec?.tls).toBeUndefined();
        expect(ingress.spec?.rules?.[0]?.host).toBe('console.127.0.0.1.nip.io');
        const gatewayPod = find<V1Deployment>(manifests, 'Deployment', 'urumi-gateway').spec!.template.spec!;
        expect(gatewayPod.containers[0]!.image).toBe('urumi/gateway:dev');
        expect(gatewayPod.containers[0]!.imagePullPolicy).toBe('Never');
        expect(gatewayPod.volumes).toContainEqual(
          expect.objectContaining({ name: 'tokens', secret: expect.objectContaining({ secretName: 'urumi-tokens' }) }),
        );
        expect((find<Manifest>(manifests, 'StatefulSet', 'urumi-nats').spec as { replicas: number }).replicas).toBe(1);
        expect(find<V1ConfigMap>(manifests, 'ConfigMap', 'urumi-nats-config').data?.['nats.conf']).not.toMatch(
          /cluster \{/,
        );
      });
    } else {
      it('is the production setup: TLS from cert-manager, ExternalDNS, a registry, OIDC, replicas, a NATS cluster', () => {
        const gatewayDeployment = find<V1Deployment>(manifests, 'Deployment', 'urumi-gateway');
        const gateway = envOf(gatewayDeployment);
        expect(gateway).toMatchObject({
          AUTH_MODE: 'oidc',
          OIDC_ISSUER: expect.stringMatching(/^https:\/\//),
          // Stores belong to the immutable subject; the mutable user name is only shown.
          OIDC_USER_CLAIM: 'sub',
          OIDC_DISPLAY_NAME_CLAIM: 'preferred_username',
          ALLOWED_ORIGINS: 'https://console.example.com',
          STORE_URL_SCHEME: 'https',
        });
        expect(gateway['AUTH_TOKENS_FILE']).toBeUndefined();
        expect(envOf(find<V1Deployment>(manifests, 'Deployment', 'urumi-provisioner'))).toMatchObject({
          STORE_TLS: 'cert-manager',
          STORE_TLS_CLUSTER_ISSUER: 'letsencrypt-prod',
          STORE_STORAGE_CLASS: 'hcloud-volumes',
          ENGINE_VALUES_DIR: '/etc/urumi/engine-values',
          INGRESS_CLASS: 'traefik',
          INGRESS_NAMESPACE: 'kube-system',
        });
        const engineValues = engineValuesOf(manifests);
        for (const repository of [
          engineValues['woocommerce']?.image?.repository,
          engineValues['woocommerce']?.mariadb?.image?.repository,
          engineValues['medusa']?.image?.repository,
          engineValues['medusa']?.postgres?.image?.repository,
          engineValues['medusa']?.redis?.image?.repository,
        ]) {
          expect(repository).toMatch(/^ghcr\.io\/acme\//);
        }
        const ingress = find<V1Ingress>(manifests, 'Ingress', 'urumi-console');
        expect(ingress.metadata?.annotations).toMatchObject({
          'cert-manager.io/cluster-issuer': 'letsencrypt-prod',
          'external-dns.alpha.kubernetes.io/hostname': expect.stringContaining('*.stores.example.com'),
        });
        expect(ingress.spec?.tls).toEqual([{ hosts: ['console.example.com'], secretName: 'urumi-console-tls' }]);
        expect(gatewayDeployment.spec!.template.spec!.containers[0]!.image).toBe('ghcr.io/acme/urumi/gateway:0.1.0');
        const hpas = manifests.filter((o) => o.kind === 'HorizontalPodAutoscaler').map((o) => o.metadata?.name);
        expect(hpas).toEqual(['urumi-gateway']);
        expect(find<V1Deployment>(manifests, 'Deployment', 'urumi-quota').spec!.replicas).toBeGreaterThanOrEqual(2);
        const nats = find<Manifest>(manifests, 'StatefulSet', 'urumi-nats').spec as {
          replicas: number;
          volumeClaimTemplates: { spec: { storageClassName?: string } }[];
        };
        expect(nats.replicas).toBe(3);
        expect(nats.volumeClaimTemplates[0]!.spec.storageClassName).toBe('hcloud-volumes');
        const conf = find<V1ConfigMap>(manifests, 'ConfigMap', 'urumi-nats-config').data!['nats.conf']!;
        for (const i of [0, 1, 2]) {
          expect(conf).toContain(`nats://urumi-nats-${i}.urumi-nats-headless.urumi-system.svc.cluster.local:6222`);
        }
        const budgets = manifests.filter((o) => o.kind === 'PodDisruptionBudget').map((o) => o.metadata?.name);
        expect(budgets.sort()).toEqual([
          'urumi-cleanup',
          'urumi-gateway',
          'urumi-nats',
          'urumi-provisioner',
          'urumi-quota',
        ]);
      });
    }

    it('is accepted by the API server under Pod Security "restricted" (server-side dry-run)', async () => {
      const ns = await restrictedNamespace(`platform-psa-${flavour}`);
      // A release name of its own: ClusterRoles and their bindings carry it, and other tests' RBAC stays untouched.
      const rendered = await render(unique('psa').slice(0, 30), ns, '-f', valuesFile, '--include-crds');
      const objects = parseManifests(rendered);
      // A Pod is admitted only once its ServiceAccount exists (a dry-run creates none).
      for (const account of objects.filter((o) => o.kind === 'ServiceAccount')) {
        await kubectl(['create', 'serviceaccount', account.metadata!.name!, '-n', ns]);
      }
      // Deployments only warn under Pod Security; the same pod templates as bare Pods are enforced.
      const pods = podsFor(podTemplates(objects));
      // The Roles for Events on Stores live in `default` (where the API server keeps Events about cluster-scoped
      // objects); kubectl applies objects of one namespace at a time.
      const documents = rendered.split(/^---$/m).filter((doc) => /^kind: /m.test(doc));
      const inDefault = documents.filter((doc) => /^ {2}namespace: default$/m.test(doc));
      const rest = documents.filter((doc) => !inDefault.includes(doc));
      const input = [...rest, ...pods.map((pod) => JSON.stringify(pod))].join('\n---\n');
      const dryRun = ['apply', '--server-side', '--dry-run=server', '-f', '-'];

      const applied = await kubectl([...dryRun, '-n', ns], input);
      const appliedInDefault = await kubectl([...dryRun, '-n', 'default'], inDefault.join('\n---\n'));

      expect(documents).toHaveLength(objects.length);
      expect(applied.match(/serverside-applied \(server dry run\)/g)).toHaveLength(rest.length + pods.length);
      expect(appliedInDefault.match(/serverside-applied \(server dry run\)/g)).toHaveLength(4);
      expect(pods).toHaveLength(5);
    });
  });

  it('keeps templates/rbac.yaml what `npm start` applies: the operators ServiceAccounts and least-privilege roles', async () => {
    const rbac = parseManifests(await render('urumi', 'urumi-system', '--show-only', 'templates/rbac.yaml'));

    const names = rbac.map((o) => `${o.kind}/${o.metadata?.name}`);
    expect(names).toEqual(
      expect.arrayContaining([
        'ServiceAccount/urumi-provisioner',
        'ServiceAccount/urumi-cleanup',
        'ClusterRole/urumi-provisioner',
        'ClusterRole/urumi-cleanup',
        'ClusterRoleBinding/urumi-provisioner',
        'ClusterRoleBinding/urumi-cleanup',
        'Role/urumi-provisioner-leader-election',
        'Role/urumi-cleanup-leader-election',
        'RoleBinding/urumi-provisioner-leader-election',
        'RoleBinding/urumi-cleanup-leader-election',
        'Role/urumi-provisioner-store-events',
        'Role/urumi-cleanup-store-events',
        'RoleBinding/urumi-provisioner-store-events',
        'RoleBinding/urumi-cleanup-store-events',
      ]),
    );
    const rules = rbac.flatMap((o) => ((o as unknown as { rules?: V1PolicyRule[] }).rules ?? []) as V1PolicyRule[]);
    const verbs = new Set(rules.flatMap((rule) => rule.verbs));
    for (const forbidden of ['escalate', 'bind', 'impersonate', '*']) expect(verbs).not.toContain(forbidden);
    const secretReads = rules.filter(
      (rule) =>
        rule.resources?.includes('secrets') && rule.verbs.some((verb) => ['get', 'list', 'watch'].includes(verb)),
    );
    expect(secretReads.map((rule) => rule.resourceNames)).toEqual([['store-credentials']]);
    for (const binding of rbac.filter((o) => o.kind === 'ClusterRoleBinding' || o.kind === 'RoleBinding')) {
      const subjects = (binding as unknown as { subjects: { namespace: string }[] }).subjects;
      expect(subjects.map((s) => s.namespace)).toEqual(['urumi-system']);
    }
    // Leases only in the release's namespace (a Role), each operator's own by name for everything RBAC can name.
    for (const service of ['provisioner', 'cleanup']) {
      const role = find<{ metadata: { namespace: string }; rules: V1PolicyRule[] }>(
        rbac,
        'Role',
        `urumi-${service}-leader-election`,
      );
      expect([service, role.metadata.namespace]).toEqual([service, 'urumi-system']);
      expect(role.rules).toEqual([
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
        {
          apiGroups: ['coordination.k8s.io'],
          resources: ['leases'],
          resourceNames: [`urumi-${service}`],
          verbs: ['get', 'update'],
        },
      ]);
    }
    const leaseRules = rules.filter((rule) => rule.resources?.includes('leases'));
    expect(leaseRules).toHaveLength(4);
    // Events only in `default` (where Events about cluster-scoped Stores live), created and nothing else.
    const eventRoles = rbac.filter((o) => o.kind === 'Role' && o.metadata?.name?.endsWith('-store-events'));
    expect(eventRoles.map((o) => o.metadata?.namespace)).toEqual(['default', 'default']);
    const eventRules = rules.filter((rule) => rule.resources?.includes('events'));
    expect(eventRules).toEqual([
      { apiGroups: [''], resources: ['events'], verbs: ['create'] },
      { apiGroups: [''], resources: ['events'], verbs: ['create'] },
    ]);
  });

  it('has the roles RBAC.md describes, rule for rule, and no RBAC objects or ServiceAccounts in them', async () => {
    const rbac = parseManifests(await render('urumi', 'urumi-system', '--show-only', 'templates/rbac.yaml'));
    const doc = readFileSync(join(chartDir, 'RBAC.md'), 'utf8');
    const words = (cell: string) =>
      cell
        .split(',')
        .map((word) => word.trim().replace(/^`|`$/g, ''))
        .filter(Boolean);
    /** The rows of the table under `## <role>`: apiGroup, resources, resourceNames, verbs. */
    const documented = (role: string) =>
      doc
        .split(`## ${role}\n`)[1]!
        .split('\n## ')[0]!
        .split('\n')
        .filter((line) => line.startsWith('| `'))
        .map((line) => {
          const [group, resources, names, verbs] = line.split('|').slice(1, 5).map(words);
          return {
            apiGroups: group!.map((g) => (g === "''" ? '' : g)),
            resources,
            ...(names!.length > 0 && { resourceNames: names }),
            verbs,
          };
        });
    for (const [kind, role] of [
      ['ClusterRole', 'urumi-provisioner'],
      ['ClusterRole', 'urumi-cleanup'],
      ['Role', 'urumi-provisioner-leader-election'],
      ['Role', 'urumi-cleanup-leader-election'],
      ['Role', 'urumi-provisioner-store-events'],
      ['Role', 'urumi-cleanup-store-events'],
    ] as const) {
      const rules = find<{ rules: V1PolicyRule[] }>(rbac, kind, role).rules;
      expect([role, rules]).toEqual([role, documented(role)]);
      const resources = rules.flatMap((rule) => rule.resources ?? []);
      for (const forbidden of ['roles', 'rolebindings', 'serviceaccounts', 'pods', '*']) {
        expect(resources).not.toContain(forbidden);
      }
    }
  });

  it("renders the admission policy for this release's operators only, failing closed", async () => {
    const policy = parseManifests(
      await render('shop', 'shop-system', '--show-only', 'templates/admission-policy.yaml'),
    ) as unknown as {
      kind: string;
      metadata: { name: string };
      spec: {
        failurePolicy?: string;
        matchConditions?: { expression: string }[];
        variables?: { name: string; expression: string }[];
        policyName?: string;
        validationActions?: string[];
      };
    }[];
    expect(policy.map((o) => [o.kind, o.metadata.name])).toEqual([
      ['ValidatingAdmissionPolicy', 'shop-operators'],
      ['ValidatingAdmissionPolicyBinding', 'shop-operators'],
    ]);
    expect(policy[0]!.spec.failurePolicy).toBe('Fail');
    expect(policy[0]!.spec.matchConditions?.map((c) => c.expression)).toEqual([
      "request.userInfo.username in ['system:serviceaccount:shop-system:urumi-provisioner', 'system:serviceaccount:shop-system:urumi-cleanup']",
    ]);
    // Outside Stores and store namespaces, each operator may write only its own Lease, in the release's namespace.
    const ownLease = policy[0]!.spec.variables?.find((v) => v.name === 'isOwnLease')?.expression;
    expect(ownLease).toContain("request.namespace == 'shop-system'");
    expect(ownLease).toContain(
      "{'system:serviceaccount:shop-system:urumi-provisioner': 'shop-provisioner', 'system:serviceaccount:shop-system:urumi-cleanup': 'shop-cleanup'}[request.userInfo.username]",
    );
    // And Events about Stores, created in `default`.
    const storeEvent = policy[0]!.spec.variables?.find((v) => v.name === 'isStoreEvent')?.expression;
    expect(storeEvent).toContain("request.namespace == 'default'");
    expect(storeEvent).toContain("request.operation == 'CREATE'");
    expect(storeEvent).toContain("object.involvedObject.kind == 'Store'");
    expect(policy[1]!.spec).toEqual({ policyName: 'shop-operators', validationActions: ['Deny'] });
  });

  it("gives the gateway the stores' URL scheme from stores.tls.mode, as the provisioner derives it", async () => {
    const schemes: Record<string, string> = {};
    for (const mode of ['none', 'default-certificate', 'cert-manager']) {
      const rendered = await render(
        'urumi',
        'urumi-system',
        '--show-only',
        'templates/gateway.yaml',
        '--set',
        `stores.tls.mode=${mode},stores.tls.clusterIssuer=letsencrypt-prod`,
      );
      schemes[mode] = envOf(find<V1Deployment>(parseManifests(rendered), 'Deployment', 'urumi-gateway'))[
        'STORE_URL_SCHEME'
      ]!;
    }
    expect(schemes).toEqual({ none: 'http', 'default-certificate': 'https', 'cert-manager': 'https' });
  });

  it('has a values schema that rejects a misspelled or impossible value', async () => {
    const schemaError = /values don't meet the specifications of the schema/;
    await expect(render('urumi', 'urumi-system', '--set', 'provisioner.worker=8')).rejects.toThrow(
      /additional properties 'worker' not allowed/,
    );
    await expect(render('urumi', 'urumi-system', '--set', 'nats.replicas=2')).rejects.toThrow(schemaError);
    await expect(render('urumi', 'urumi-system', '--set', 'auth.mode=oidc')).rejects.toThrow(schemaError);
    await expect(render('urumi', 'urumi-system', '--set', 'stores.tls.mode=https')).rejects.toThrow(schemaError);
    await expect(render('urumi', 'urumi-system', '--set', 'stores.tls.mode=cert-manager')).rejects.toThrow(schemaError);
    await expect(render('urumi', 'urumi-system', '--set', 'stores.engineValues.magento.image.tag=1')).rejects.toThrow(
      /additional properties 'magento' not allowed/,
    );
    await expect(
      render('urumi', 'urumi-system', '--set', 'quota.limits.ownerOverrides.alice.maxStores=1'),
    ).rejects.toThrow(/additional properties 'maxStores' not allowed/);
  });

  it('pins in the images what the sandbox runs: Helm (checksum-verified) and the NATS release', async () => {
    expect(dockerfile).toContain(`ARG HELM_VERSION=${versions.helm}`);
    expect(dockerfile).toMatch(/sha256sum --check/);
    const values = readFileSync(join(chartDir, 'values.yaml'), 'utf8');
    expect(values).toContain(`tag: ${versions.natsServer.replace(/^v/, '')}-alpine`);
  });

  it('installs into the sandbox (pods Ready on KWOK nodes), upgrades a value and rolls it back', async () => {
    const ns = await restrictedNamespace('urumi-chart');
    const release = unique('urumi').slice(0, 30);
    await kubectl(
      ['apply', '-n', ns, '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'urumi-tokens' },
        stringData: { 'tokens.json': tokensFile() },
      }),
    );
    // The Store CRD is often there already: `npm start`'s Platform (and other tests of this run) apply it server-side.
    // Helm installs a chart's crds/ only when absent and skips an existing one, so the install must tolerate it.
    await kubectl(['apply', '--server-side', '--field-manager=urumi-platform', '-f', join(chartDir, 'crds')]);
    const install = await helm([
      'install',
      release,
      chartDir,
      '-n',
      ns,
      '-f',
      valuesFiles.local,
      '--wait',
      '--timeout=90s',
    ]).catch(async (error: Error) => {
      // What --wait was still waiting for.
      const state = await kubectl(['get', 'pods,pvc,events', '-n', ns, '-o', 'wide']).catch((e: Error) => e.message);
      throw new Error(`${error.message}\n${state}`);
    });
    installedReleases.push({ release, namespace: ns });

    expect(install).toContain('STATUS: deployed');
    expect(install).toContain('http://console.127.0.0.1.nip.io/');
    expect(install).toContain('Stores are served at http://<name>.127.0.0.1.nip.io');
    expect(install).toContain(`get secret urumi-tokens`);
    await kubectl(['wait', '--for=condition=Established', 'crd/stores.urumi.dev', '--timeout=30s']);
    const pods = JSON.parse(await kubectl(['get', 'pods', '-n', ns, '-o', 'json'])) as {
      items: {
        metadata: { name: string };
        spec: { nodeName?: string };
        status: { conditions?: { type: string; status: string }[] };
      }[];
    };
    expect(pods.items).toHaveLength(5);
    for (const pod of pods.items) {
      const ready = pod.status.conditions?.find((c) => c.type === 'Ready')?.status;
      expect([pod.metadata.name, pod.spec.nodeName?.startsWith('kwok-node-'), ready]).toEqual([
        pod.metadata.name,
        true,
        'True',
      ]);
    }
    const workers = async () =>
      envOf(
        JSON.parse(
          await kubectl(['get', 'deployment', `${release}-provisioner`, '-n', ns, '-o', 'json']),
        ) as V1Deployment,
      )['PROVISIONER_WORKERS'];
    expect(await workers()).toBe('4');
    // The NATS passwords the install generated: every later revision must keep them (services and NATS agree).
    const natsPasswords = async () =>
      (JSON.parse(await kubectl(['get', 'secret', `${release}-nats-auth`, '-n', ns, '-o', 'json'])) as V1Secret).data;
    const generated = await natsPasswords();
    expect(Object.keys(generated ?? {}).sort()).toEqual([
      'admin',
      'cleanup',
      'gateway',
      'provisioner',
      'quota',
      'subscriber',
    ]);

    await helm([
      'upgrade',
      release,
      chartDir,
      '-n',
      ns,
      '-f',
      valuesFiles.local,
      '--set',
      'provisioner.workers=12',
      '--wait',
      '--timeout=90s',
    ]);
    expect(await workers()).toBe('12');
    expect(await natsPasswords()).toEqual(generated);
    await kubectl(['rollout', 'status', `deployment/${release}-provisioner`, '-n', ns, '--timeout=60s']);

    await helm(['rollback', release, '1', '-n', ns, '--wait', '--timeout=90s']);
    expect(await workers()).toBe('4');
    expect(await natsPasswords()).toEqual(generated);
    const history = JSON.parse(await helm(['history', release, '-n', ns, '-o', 'json'])) as {
      revision: number;
      status: string;
      description: string;
    }[];
    expect(history.map((h) => [h.revision, h.status, h.description])).toEqual([
      [1, 'superseded', 'Install complete'],
      [2, 'superseded', 'Upgrade complete'],
      [3, 'deployed', 'Rollback to 1'],
    ]);

    await helm(['uninstall', release, '-n', ns, '--wait', '--timeout=60s']);
    installedReleases.pop();
    // Helm never deletes a CRD: other releases' Stores (and the rest of this run's tests) keep theirs.
    await expect(kubectl(['get', 'crd', 'stores.urumi.dev', '-o', 'name'])).resolves.toContain('stores.urumi.dev');
    await expect(
      kubectl(['get', 'clusterrole', `${release}-provisioner`, '--ignore-not-found', '-o', 'name']),
    ).resolves.toBe('');
  });
});
