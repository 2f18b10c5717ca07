import { randomBytes } from 'node:crypto';
import { CommandError, exec } from '../src/exec';
import { installPlatformResources, PLATFORM_NAMESPACE } from '../src/platform';
import { eventually } from '../src/testing/eventually';
import { testSandbox } from '../src/testing/test-sandbox';

jest.setTimeout(180_000);

type Operator = 'provisioner' | 'cleanup';

/** What the admission policy answers a write outside the platform's own objects (templates/admission-policy.yaml). */
const POLICY_REFUSAL =
  /ValidatingAdmissionPolicy 'urumi-operators' with binding 'urumi-operators' denied request: the platform operators may write only/;

/**
 * What a stolen provisioner or cleanup token can do on the sandbox cluster, with the chart's RBAC and admission
 * policy as `npm start` installs them (installPlatformResources): each request is made with the ServiceAccount's own
 * token (Sandbox.serviceAccountKubeconfig), so the API server's authorization and admission both decide it.
 */
describe('operator privileges (templates/rbac.yaml and templates/admission-policy.yaml)', () => {
  const sandbox = testSandbox();
  const suffix = `${Date.now().toString(36)}-${randomBytes(2).toString('hex')}`;
  const unlabelled = `unowned-${suffix}`;
  // Named like a store's, but not the platform's: the sweep's label is what makes it one.
  const lookalike = `store-unowned-${suffix}`;
  const storeNamespace = `store-privileges-${suffix}`;
  // Labelled as the platform's but without a Pod Security level: what the orphan sweep may find.
  const orphan = `store-orphan-${suffix}`;
  const admin = (...args: string[]) => sandbox.kubectl(args);
  let kubeconfigs: Record<Operator, string>;
  let kubectlBinary = '';

  const as = async (operator: Operator, args: readonly string[], input?: string) =>
    (await exec(kubectlBinary, ['--kubeconfig', kubeconfigs[operator], ...args], { input })).stdout;
  /** The API server's refusal of a request (rejects when the request succeeds). */
  const refusal = async (operator: Operator, args: readonly string[], input?: string): Promise<string> => {
    try {
      await as(operator, args, input);
    } catch (error) {
      if (error instanceof CommandError) return error.stderr;
      throw error;
    }
    throw new Error(`${operator} was allowed: kubectl ${args.join(' ')}`);
  };
  const can = async (operator: Operator, ...args: string[]) =>
    (
      await admin('auth', 'can-i', `--as=system:serviceaccount:${PLATFORM_NAMESPACE}:urumi-${operator}`, ...args).catch(
        (error: unknown) => (error instanceof CommandError ? error.stdout : Promise.reject(error)),
      )
    ).trim();
  const namespaceManifest = (name: string, labels: Record<string, string>) =>
    JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
  const storeLabels = {
    'app.kubernetes.io/managed-by': 'urumi',
    'urumi.dev/store': `privileges-${suffix}`,
    'pod-security.kubernetes.io/enforce': 'restricted',
  };
  /** What the provisioner writes into a store namespace: a Secret, a ConfigMap (Helm's record), a Deployment. */
  const WRITTEN = ['secret/store-credentials', 'configmap/sh.helm.release.v1.store.v1', 'deployment/storefront'];
  const writes = (namespace: string): string[][] => [
    ['create', 'secret', 'generic', 'store-credentials', '-n', namespace, '--from-literal=password=x'],
    ['create', 'configmap', 'sh.helm.release.v1.store.v1', '-n', namespace, '--from-literal=release=x'],
    ['create', 'deployment', 'storefront', '-n', namespace, '--image=registry.k8s.io/pause:3.10'],
  ];

  beforeAll(async () => {
    kubeconfigs = await installPlatformResources(sandbox);
    kubectlBinary = await sandbox.binary('kubectl');
    await admin('create', 'namespace', unlabelled);
    await admin('create', 'namespace', lookalike);
  });

  afterAll(async () => {
    // Whatever a failing run let through is removed with the admin's credentials.
    for (const namespace of ['kube-system', PLATFORM_NAMESPACE]) {
      await admin('delete', ...WRITTEN, '-n', namespace, '--ignore-not-found');
    }
    await admin('label', 'namespace', 'kube-system', 'app.kubernetes.io/managed-by-').catch(() => undefined);
    await admin(
      'delete',
      'namespace',
      unlabelled,
      lookalike,
      storeNamespace,
      orphan,
      '--ignore-not-found',
      '--wait=false',
    );
  });

  describe('RBAC (kubectl auth can-i)', () => {
    it.each<[Operator, string[]]>([
      ['provisioner', ['create', 'roles', '-n', 'store-x']],
      ['provisioner', ['create', 'rolebindings', '-n', 'store-x']],
      ['provisioner', ['create', 'serviceaccounts', '-n', 'store-x']],
      ['provisioner', ['create', 'serviceaccounts/token', '-n', 'store-x']],
      ['provisioner', ['create', 'pods', '-n', 'store-x']],
      ['provisioner', ['create', 'pods/exec', '-n', 'store-x']],
      ['provisioner', ['list', 'secrets', '-n', 'store-x']],
      ['provisioner', ['get', 'secrets/other', '-n', 'store-x']],
      ['provisioner', ['delete', 'namespaces']],
      ['provisioner', ['get', 'nodes']],
      ['provisioner', ['create', 'clusterroles']],
      ['provisioner', ['create', 'validatingadmissionpolicybindings']],
      ['provisioner', ['delete', 'validatingadmissionpolicies']],
      ['cleanup', ['delete', 'roles', '-n', 'store-x']],
      ['cleanup', ['delete', 'serviceaccounts', '-n', 'store-x']],
      ['cleanup', ['get', 'secrets', '-n', 'store-x']],
      ['cleanup', ['create', 'namespaces']],
      ['cleanup', ['patch', 'namespaces']],
      // Leases: only its own, only in the platform namespace, never deleted or listed.
      ['provisioner', ['update', 'leases/urumi-cleanup', '-n', PLATFORM_NAMESPACE]],
      ['provisioner', ['get', 'leases/urumi-provisioner', '-n', 'kube-system']],
      ['provisioner', ['create', 'leases', '-n', 'kube-system']],
      ['provisioner', ['delete', 'leases/urumi-provisioner', '-n', PLATFORM_NAMESPACE]],
      ['provisioner', ['list', 'leases', '-n', PLATFORM_NAMESPACE]],
      ['provisioner', ['update', 'leases', '-n', 'store-x']],
      ['cleanup', ['update', 'leases/urumi-provisioner', '-n', PLATFORM_NAMESPACE]],
      ['cleanup', ['get', 'leases/urumi-cleanup', '-n', 'kube-node-lease']],
      ['cleanup', ['watch', 'leases', '-n', PLATFORM_NAMESPACE]],
      // Events: created in `default` only, never read, changed or deleted.
      ['provisioner', ['create', 'events', '-n', PLATFORM_NAMESPACE]],
      ['provisioner', ['create', 'events', '-n', 'kube-system']],
      ['provisioner', ['list', 'events', '-n', 'default']],
      ['provisioner', ['patch', 'events', '-n', 'default']],
      ['cleanup', ['delete', 'events', '-n', 'default']],
      ['cleanup', ['get', 'events', '-n', 'default']],
    ])('urumi-%s may not %j', async (operator, args) => {
      expect(await can(operator, ...args)).toBe('no');
    });

    it.each<[Operator, string[]]>([
      ['provisioner', ['create', 'deployments', '-n', 'store-x']],
      ['provisioner', ['create', 'secrets', '-n', 'store-x']],
      ['provisioner', ['update', 'secrets/store-credentials', '-n', 'store-x']],
      ['provisioner', ['patch', 'namespaces']],
      // A read, which admission never sees: the one Secret name the provisioner may read, wherever it is.
      ['provisioner', ['get', 'secrets/store-credentials', '-n', 'kube-system']],
      ['cleanup', ['delete', 'namespaces']],
      ['cleanup', ['delete', 'deployments', '-n', 'store-x']],
    ])('urumi-%s may %j in any namespace as far as RBAC goes (the policy narrows it)', async (operator, args) => {
      expect(await can(operator, ...args)).toBe('yes');
    });

    it.each<[Operator, string[]]>([
      ['provisioner', ['get', 'leases/urumi-provisioner', '-n', PLATFORM_NAMESPACE]],
      ['provisioner', ['update', 'leases/urumi-provisioner', '-n', PLATFORM_NAMESPACE]],
      ['cleanup', ['get', 'leases/urumi-cleanup', '-n', PLATFORM_NAMESPACE]],
      ['cleanup', ['update', 'leases/urumi-cleanup', '-n', PLATFORM_NAMESPACE]],
      // RBAC cannot name what a create makes: the admission policy allows only the operator's own Lease (below).
      ['provisioner', ['create', 'leases', '-n', PLATFORM_NAMESPACE]],
      ['cleanup', ['create', 'leases', '-n', PLATFORM_NAMESPACE]],
    ])('urumi-%s may %j: its own leader-election Lease', async (operator, args) => {
      expect(await can(operator, ...args)).toBe('yes');
    });

    it.each<[Operator, string[]]>([
      ['provisioner', ['create', 'events', '-n', 'default']],
      ['cleanup', ['create', 'events', '-n', 'default']],
    ])('urumi-%s may %j: Events about Stores (the policy narrows it)', async (operator, args) => {
      expect(await can(operator, ...args)).toBe('yes');
    });
  });

  describe('admission: writes outside the platform are refused', () => {
    beforeAll(async () => {
      // The policy is enforced once the API server has loaded it: wait for its first refusal.
      await eventually(
        async () =>
          expect(await refusal('provisioner', [...writes(unlabelled)[1]!, '--dry-run=server'])).toMatch(POLICY_REFUSAL),
        30_000,
        250,
      );
    });

    it.each([
      ['kube-system', 'kube-system'],
      ['an unlabelled namespace', unlabelled],
      ['an unlabelled namespace named store-*', lookalike],
      ['the platform namespace', PLATFORM_NAMESPACE],
    ])("refuses the provisioner's Secret, ConfigMap and Deployment in %s", async (_case, namespace) => {
      for (const write of writes(namespace)) {
        expect(await refusal('provisioner', write)).toMatch(POLICY_REFUSAL);
      }
      expect(await admin('get', ...WRITTEN, '-n', namespace, '--ignore-not-found', '-o', 'name')).toBe('');
    });

    it("refuses a Lease in the platform namespace under any name but the operator's own", async () => {
      const lease = (name: string) =>
        JSON.stringify({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name }, spec: {} });
      for (const [operator, name] of [
        ['provisioner', 'urumi-cleanup'],
        ['provisioner', `squatter-${suffix}`],
        ['cleanup', 'urumi-provisioner'],
      ] as const) {
        expect(
          await refusal(operator, ['create', '-n', PLATFORM_NAMESPACE, '--dry-run=server', '-f', '-'], lease(name)),
        ).toMatch(POLICY_REFUSAL);
      }
      expect(
        await refusal('provisioner', ['create', '-n', 'kube-system', '--dry-run=server', '-f', '-'], lease('x')),
      ).toMatch(/forbidden/);
    });

    it('takes an Event in default only about a Store', async () => {
      const event = (kind: string, apiVersion: string) =>
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'Event',
          metadata: { generateName: 'probe.', namespace: 'default' },
          involvedObject: { apiVersion, kind, name: `probe-${suffix}` },
          reason: 'Probe',
          message: 'a dry run',
          type: 'Normal',
          // Microseconds, as the API server reads an eventTime.
          eventTime: new Date().toISOString().replace('Z', '000Z'),
          action: 'Probe',
          reportingComponent: 'urumi.dev/provisioner',
          reportingInstance: 'operator-privileges',
        });
      for (const operator of ['provisioner', 'cleanup'] as const) {
        const create = ['create', '-n', 'default', '--dry-run=server', '-o', 'name', '-f', '-'];
        expect(await as(operator, create, event('Store', 'urumi.dev/v1'))).toMatch(/^event\/probe\./);
        for (const [kind, apiVersion] of [
          ['Node', 'v1'],
          ['Store', 'example.com/v1'],
        ] as const) {
          expect(await refusal(operator, create, event(kind, apiVersion))).toMatch(POLICY_REFUSAL);
        }
      }
    });

    it('refuses to label a namespace into the platform', async () => {
      for (const namespace of ['kube-system', unlabelled]) {
        expect(
          await refusal('provisioner', ['label', 'namespace', namespace, 'app.kubernetes.io/managed-by=urumi']),
        ).toMatch(POLICY_REFUSAL);
      }
      expect(
        JSON.parse(await admin('get', 'namespace', 'kube-system', '-o', 'json')).metadata.labels,
      ).not.toHaveProperty('app.kubernetes.io/managed-by');
    });

    it.each([
      ['without the ownership label', `store-bare-${suffix}`, { 'pod-security.kubernetes.io/enforce': 'restricted' }],
      ['not named store-*', `shop-${suffix}`, storeLabels],
      [
        'allowed privileged pods',
        `store-priv-${suffix}`,
        { ...storeLabels, 'pod-security.kubernetes.io/enforce': 'privileged' },
      ],
    ])('refuses to create a namespace %s', async (_case, name, labels) => {
      expect(await refusal('provisioner', ['create', '-f', '-'], namespaceManifest(name, labels))).toMatch(
        POLICY_REFUSAL,
      );
    });

    it("refuses cleanup's deletes of namespaces and objects the platform does not own", async () => {
      // Server-side dry run: authorization and admission decide it as for real, and nothing is deleted if they let it.
      // (kube-system itself the API server never deletes; what is in it is the risk.)
      for (const namespace of [unlabelled, lookalike]) {
        expect(await refusal('cleanup', ['delete', 'namespace', namespace, '--dry-run=server'])).toMatch(
          POLICY_REFUSAL,
        );
      }
      for (const namespace of ['kube-system', unlabelled]) {
        expect(
          await refusal('cleanup', ['delete', 'configmap', 'kube-root-ca.crt', '-n', namespace, '--dry-run=server']),
        ).toMatch(POLICY_REFUSAL);
      }
    });
  });

  describe('admission: what the operators do in a store namespace is allowed', () => {
    it('lets the provisioner create a store namespace and write in it, and cleanup delete it', async () => {
      await as('provisioner', ['create', '-f', '-'], namespaceManifest(storeNamespace, storeLabels));
      for (const write of writes(storeNamespace)) await as('provisioner', write);
      await as('provisioner', ['label', 'namespace', storeNamespace, 'urumi.dev/store-id=privileges']);

      expect((await admin('get', ...WRITTEN, '-n', storeNamespace, '-o', 'name')).trim().split('\n')).toEqual([
        'secret/store-credentials',
        'configmap/sh.helm.release.v1.store.v1',
        'deployment.apps/storefront',
      ]);
      await as('cleanup', ['delete', 'deployment', 'storefront', '-n', storeNamespace]);
      await as('cleanup', ['delete', 'namespace', storeNamespace, '--wait=false']);
      expect(JSON.parse(await admin('get', 'namespace', storeNamespace, '-o', 'json')).status.phase).toBe(
        'Terminating',
      );
    });

    it('lets cleanup delete an orphaned store namespace, and nobody write into it while it is unfenced', async () => {
      await sandbox.kubectl(
        ['create', '-f', '-'],
        namespaceManifest(orphan, { 'app.kubernetes.io/managed-by': 'urumi' }),
      );

      expect(await refusal('provisioner', writes(orphan)[1]!)).toMatch(POLICY_REFUSAL);
      await as('cleanup', ['delete', 'namespace', orphan, '--wait=false']);
      expect(JSON.parse(await admin('get', 'namespace', orphan, '-o', 'json')).status.phase).toBe('Terminating');
    });

    it('lets the provisioner create a Store (cluster-scoped)', async () => {
      const store = {
        apiVersion: 'urumi.dev/v1',
        kind: 'Store',
        metadata: { name: `privileges-${suffix}` },
        spec: {
          storeId: '0f8c1c3e-6a47-4a8e-9f8e-0c6f4c1d2b7a',
          engine: 'medusa',
          owner: 'paul',
          domain: 'a.example.com',
        },
      };
      await expect(
        as('provisioner', ['create', '--dry-run=server', '-f', '-'], JSON.stringify(store)),
      ).resolves.toMatch(/created \(server dry run\)/);
    });
  });
});
