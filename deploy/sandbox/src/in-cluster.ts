import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatDuration, log, withHeartbeat } from './log';
import { BuiltImage } from './images/buildkit';
import { buildServiceImage, ensureBaseImages } from './images/ensure-images';
import { buildStaticBinaryImage } from './node/addon-images';
import { NODE_NAME } from './node/plan';
import { LOCAL_PATH_STORAGE } from './node/local-path-storage';
import { repoRoot } from './paths';
import { waitUntil } from './probe';
import { SANDBOX_ENGINE_VALUES_DIR, SERVICES, ServiceName } from './platform';
import { Sandbox } from './sandbox';
import { ensureTokens, SeededUser } from './tokens';
import { ensureToolchain, Toolchain } from './toolchain';
import { versions } from './versions';

const CHART_DIR = join(repoRoot, 'charts/platform');
/** The console's host, as values-sandbox.yaml (and values-local.yaml) name it. */
export const CONSOLE_HOST = 'console.127.0.0.1.nip.io';

export interface InClusterOptions {
  /** The Helm release and its namespace (default: urumi in urumi-system, as deploy/install-platform.sh). */
  readonly release?: string;
  readonly namespace?: string;
  /** The services' image tag (default: dev, as values-sandbox.yaml). */
  readonly tag?: string;
  /** How long helm waits for every Deployment and StatefulSet to be Ready. */
  readonly timeoutSeconds?: number;
}

/** What one image build pass did: each image pushed (or found up to date) and the time it all took. */
export interface PlatformImageBuild {
  readonly services: Readonly<Record<ServiceName, BuiltImage>>;
  readonly nats: BuiltImage;
  readonly ms: number;
}

export interface InClusterInstall {
  readonly release: string;
  readonly namespace: string;
  /** http://console.127.0.0.1.nip.io[:<ingress port>]/: the console and /api, through the ingress controller. */
  readonly consoleUrl: string;
  /** The loopback port the ingress controller is reached at (connect there with the console's Host header). */
  readonly ingressPort: number;
  /** The users of the tokens Secret (the sandbox's tokens.json, the same as `npm start` signs in with). */
  readonly users: readonly SeededUser[];
  readonly images: PlatformImageBuild;
  /** From `helm upgrade --install` to every Deployment and StatefulSet Ready. */
  readonly installMs: number;
}

/** nats-server as the toolchain built it, on an empty image (the official image cannot be pulled here). */

/**
 * Volumes non-root pods can write on the real node (NATS's JetStream store, the stores' databases): the
 * local-path provisioner `npm run sandbox -- up` installs (node/local-path-storage.ts). The
 * controller-manager's hostPath volumes are root-owned, mode 0750, and get no fsGroup: NATS (uid 1000) fails there
 * with "Can't start JetStream: storage directory is not a directory".
 */
async function assertNodeStorage(sandbox: Sandbox): Promise<void> {
  const existing = await sandbox.kubectl([
    'get',
    'storageclass',
    LOCAL_PATH_STORAGE.storageClass,
    '--ignore-not-found',
    '-o',
    'name',
  ]);
  if (!existing.trim())
    throw new Error(
      `the sandbox has no ${LOCAL_PATH_STORAGE.storageClass} StorageClass: run \`npm run sandbox -- up\``,
    );
}

/** The four services' images and NATS's, built by BuildKit and pushed to the sandbox's registry. */
export async function buildPlatformImages(
  sandbox: Sandbox,
  toolchain: Toolchain,
  tag = 'dev',
): Promise<PlatformImageBuild> {
  const started = Date.now();
  return sandbox.withImageBuilder(async (builder) => {
    log.step(`building the platform's images into ${builder.registry}`);
    const bases = await ensureBaseImages(builder);
    const [nats, services] = await Promise.all([
      buildStaticBinaryImage(builder, toolchain, 'nats-server', versions.natsServer),
      Promise.all(
        SERVICES.map(async (service) => [
          service,
          await buildServiceImage({ builder, toolchain, tag }, bases, service),
        ]),
      ),
    ]);
    const ms = Date.now() - started;
    log.step(`platform images ready in ${formatDuration(ms)}`);
    return {
      services: Object.fromEntries(services) as Record<ServiceName, BuiltImage>,
      nats,
      ms,
    };
  });
}

/** Every `<engine>.yaml` of a folder, nested under stores.engineValues.<engine> (block YAML, re-indented). */
export async function engineValuesOverlay(dir: string): Promise<string> {
  if (!existsSync(dir)) return '';
  const files = (await readdir(dir)).filter((file) => file.endsWith('.yaml')).sort();
  const engines = await Promise.all(
    files.map(async (file) => {
      const text = (await readFile(join(dir, file), 'utf8')).replace(/^---\s*$/m, '').trimEnd();
      const body = text
        .split('\n')
        .map((line) => (line.trim() ? `      ${line}` : ''))
        .join('\n');
      return `    ${file.replace(/\.yaml$/, '')}:\n${body}\n`;
    }),
  );
  return engines.length ? `stores:\n  engineValues:\n${engines.join('')}` : '';
}

/** What only the running sandbox knows, as a values file laid over values-sandbox.yaml. */
function runtimeValues(input: {
  hostIp: string;
  apiserverPort: number;
  ingressPort: number;
  images: PlatformImageBuild;
}): string {
  const digests = SERVICES.map((service) => `    ${service}: ${input.images.services[service].digest}`).join('\n');
  // A browser on another port than 80 sends that port in its Origin.
  const origins = input.ingressPort === 80 ? '[]' : `["http://${CONSOLE_HOST}:${input.ingressPort}"]`;
  return `# Written by deploy/sandbox/src/in-cluster.ts for this sandbox.
images:
  digests:
${digests}
networkPolicy:
  # The API server as pods reach it: the real node's host end, relayed to the API server on loopback.
  apiServer:
    cidrs: ["${input.hostIp}/32"]
    ports: [${input.apiserverPort}]
gateway:
  extraAllowedOrigins: ${origins}
# Volumes a non-root pod can write on the real node (assertNodeStorage).
nats:
  persistence:
    storageClass: ${LOCAL_PATH_STORAGE.storageClass}
stores:
  storageClass: ${LOCAL_PATH_STORAGE.storageClass}
`;
}

/** The platform namespace (Pod Security "restricted") and its tokens Secret, as deploy/install-platform.sh makes them. */
async function ensureNamespaceAndTokens(sandbox: Sandbox, namespace: string): Promise<readonly SeededUser[]> {
  const users = await ensureTokens(join(sandbox.stateDir, 'tokens.json'));
  await sandbox.kubectl(
    ['apply', '--server-side', '--field-manager=urumi-sandbox', '-f', '-'],
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: namespace, labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } },
    }),
  );
  const existing = await sandbox.kubectl(['get', 'secret', 'urumi-tokens', '-n', namespace, '--ignore-not-found']);
  if (!existing.trim()) {
    await sandbox.kubectl(
      ['create', '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'urumi-tokens', namespace },
        stringData: { 'tokens.json': JSON.stringify(users) },
      }),
    );
  }
  return users;
}

/**
 * `npm start` applies the chart's ServiceAccounts, RBAC and admission policy itself (platform.ts
 * installPlatformResources), without Helm's ownership metadata, which makes `helm install` refuse them: this marks
 * those that exist as the release's, so Helm adopts them.
 */
async function adoptProcessModeObjects(sandbox: Sandbox, release: string, namespace: string): Promise<void> {
  const rendered = await sandbox.helm([
    'template',
    release,
    CHART_DIR,
    '-n',
    namespace,
    '--show-only',
    'templates/rbac.yaml',
    '--show-only',
    'templates/admission-policy.yaml',
  ]);
  type Live = { kind: string; metadata: { name: string; namespace?: string; annotations?: Record<string, string> } };
  // Each object in its own namespace (the Roles for Events on Stores are in `default`), so no -n.
  const text = await sandbox.kubectl(['get', '-f', '-', '-o', 'json', '--ignore-not-found'], rendered);
  // Nothing found prints nothing; one object prints itself, several a List.
  const live = text.trim() ? (JSON.parse(text) as Live & { items?: Live[] }) : undefined;
  const existing = (live ? (live.items ?? [live]) : []).filter(
    (item) => item.metadata.annotations?.['meta.helm.sh/release-name'] !== release,
  );
  if (!existing.length) return;
  const owned = `meta.helm.sh/release-name=${release}`;
  for (const where of new Set(existing.map((item) => item.metadata.namespace ?? namespace))) {
    const here = existing
      .filter((item) => (item.metadata.namespace ?? namespace) === where)
      .map((item) => `${item.kind}/${item.metadata.name}`);
    await sandbox.kubectl([
      'annotate',
      '-n',
      where,
      '--overwrite',
      ...here,
      owned,
      `meta.helm.sh/release-namespace=${namespace}`,
    ]);
    await sandbox.kubectl(['label', '-n', where, '--overwrite', ...here, 'app.kubernetes.io/managed-by=Helm']);
  }
  log.step(`  the release adopts ${existing.length} objects \`npm start\` applied`);
}

/**
 * The platform installed by its own chart on the sandbox's real node: its images built and pushed, then
 * `helm upgrade --install` with values-local.yaml, values-sandbox.yaml and this sandbox's runtime values, waiting until
 * every Deployment and StatefulSet is Ready. Idempotent: a second call with nothing changed rebuilds nothing and
 * leaves the pods as they are.
 */
export async function installInCluster(sandbox: Sandbox, options: InClusterOptions = {}): Promise<InClusterInstall> {
  const release = options.release ?? 'urumi';
  const namespace = options.namespace ?? 'urumi-system';
  const toolchain = await ensureToolchain();
  const ports = await sandbox.ports();
  await assertNodeStorage(sandbox);
  const node = await sandbox.realNode();
  const images = await buildPlatformImages(sandbox, toolchain, options.tag);
  const users = await ensureNamespaceAndTokens(sandbox, namespace);

  const valuesDir = join(sandbox.stateDir, 'in-cluster');
  await mkdir(valuesDir, { recursive: true });
  const runtimeFile = join(valuesDir, 'values-runtime.yaml');
  const enginesFile = join(valuesDir, 'values-engines.yaml');
  await writeFile(
    runtimeFile,
    runtimeValues({ hostIp: node.plan.hostIp, apiserverPort: ports.apiserver, ingressPort: ports.ingress, images }),
  );
  await writeFile(enginesFile, await engineValuesOverlay(SANDBOX_ENGINE_VALUES_DIR));

  await adoptProcessModeObjects(sandbox, release, namespace);
  const started = Date.now();
  log.step(`helm upgrade --install ${release} charts/platform -n ${namespace} (on ${NODE_NAME})`);
  await withHeartbeat(
    `  waiting for the platform's pods on ${NODE_NAME}`,
    sandbox.helm([
      'upgrade',
      '--install',
      release,
      CHART_DIR,
      '-n',
      namespace,
      '-f',
      join(CHART_DIR, 'values-local.yaml'),
      '-f',
      join(CHART_DIR, 'values-sandbox.yaml'),
      '-f',
      enginesFile,
      '-f',
      runtimeFile,
      '--wait',
      `--timeout=${options.timeoutSeconds ?? 600}s`,
    ]),
  );
  const installMs = Date.now() - started;
  log.step(`platform Ready in ${formatDuration(installMs)}`);
  const portSuffix = ports.ingress === 80 ? '' : `:${ports.ingress}`;
  return {
    release,
    namespace,
    consoleUrl: `http://${CONSOLE_HOST}${portSuffix}/`,
    ingressPort: ports.ingress,
    users,
    images,
    installMs,
  };
}

/**
 * Uninstalls the release and deletes its namespace, with what the release does not own: the tokens Secret and the
 * NATS volumes (a StatefulSet's claims outlive it). Stores must be deleted first: their finalizer is cleanup's.
 */
export async function uninstallInCluster(sandbox: Sandbox, options: InClusterOptions = {}): Promise<void> {
  const release = options.release ?? 'urumi';
  const namespace = options.namespace ?? 'urumi-system';
  const releases = await sandbox.helm(['list', '-n', namespace, '-q', '--filter', `^${release}$`]);
  if (releases.trim()) {
    log.step(`helm uninstall ${release} -n ${namespace}`);
    await sandbox.helm(['uninstall', release, '-n', namespace, '--wait', '--timeout=120s']);
  }
  await sandbox.kubectl(['delete', 'namespace', namespace, '--ignore-not-found', '--wait=true', '--timeout=120s']);
  // The provisioner deletes their volumes (and folders) once the claims are gone.
  await waitUntil(
    `the volumes of ${namespace} were not deleted`,
    async () => (await volumesOf(sandbox, namespace)).length === 0,
    120_000,
  );
  log.step(`removed namespace ${namespace} and its volumes`);
}

/** The PersistentVolumes bound to claims of a namespace. */
export async function volumesOf(sandbox: Sandbox, namespace: string): Promise<string[]> {
  const volumes = JSON.parse(await sandbox.kubectl(['get', 'persistentvolumes', '-o', 'json'])) as {
    items: { metadata: { name: string }; spec: { claimRef?: { namespace?: string } } }[];
  };
  return volumes.items.filter((pv) => pv.spec.claimRef?.namespace === namespace).map((pv) => pv.metadata.name);
}

/** Resident memory of each container of a namespace's pods on the real node, from the kubelet's stats. */
export async function podMemory(
  sandbox: Sandbox,
  namespace: string,
): Promise<{ pod: string; container: string; rssBytes: number; workingSetBytes: number }[]> {
  const summary = JSON.parse(
    await sandbox.kubectl(['get', '--raw', `/api/v1/nodes/${NODE_NAME}/proxy/stats/summary`]),
  ) as {
    pods: {
      podRef: { name: string; namespace: string };
      containers?: { name: string; memory?: { rssBytes?: number; workingSetBytes?: number } }[];
    }[];
  };
  return summary.pods
    .filter((pod) => pod.podRef.namespace === namespace)
    .flatMap((pod) =>
      (pod.containers ?? []).map((container) => ({
        pod: pod.podRef.name,
        container: container.name,
        rssBytes: container.memory?.rssBytes ?? 0,
        workingSetBytes: container.memory?.workingSetBytes ?? 0,
      })),
    )
    .sort((a, b) => a.pod.localeCompare(b.pod));
}

/** `npm run sandbox -- in-cluster [--uninstall]`: the platform from its chart on the real node (or removed). */
export async function inClusterCommand(sandbox: Sandbox, flags: readonly string[]): Promise<number> {
  if (flags.includes('--uninstall')) {
    await uninstallInCluster(sandbox);
    return 0;
  }
  await sandbox.up();
  const installed = await installInCluster(sandbox);
  const admin = installed.users.find((user) => user.role === 'admin');
  const memory = await podMemory(sandbox, installed.namespace);
  console.log(`
The platform runs in the cluster (release ${installed.release} in ${installed.namespace}, on ${NODE_NAME}).
  Console        ${installed.consoleUrl}
  API            ${installed.consoleUrl}api/v1/stores
  Pods           kubectl -n ${installed.namespace} get pods     (export KUBECONFIG=${sandbox.kubeconfig})
${memory.map((m) => `    ${m.pod.padEnd(40)} ${(m.rssBytes / 2 ** 20).toFixed(0).padStart(5)} MiB resident`).join('\n')}
  Sign in as admin with this token (tenants alice and bob are in ${join(sandbox.stateDir, 'tokens.json')}):
    ${admin?.token}
  Try:  curl -H "Authorization: Bearer ${admin?.token}" ${installed.consoleUrl}api/v1/stores
  Remove with    npm run sandbox -- in-cluster --uninstall`);
  return 0;
}
