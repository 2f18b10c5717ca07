import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { Daemons, DaemonSpec, stopDaemonsBelow } from './daemon';
import { exec } from './exec';
import { formatDuration, log } from './log';
import { fakeNodesManifest } from './nodes';
import { ensurePki, identities, Pki, renderKubeconfig } from './pki';
import { freePort, isPortFree } from './ports';
import { ImageBuilder } from './images/buildkit';
import { registryCacheDir } from './images/cache-paths';
import { BaseImages, ensureBaseImages } from './images/ensure-images';
import { ensureMedusaStoreImages, MedusaStoreImages } from './images/medusa-images';
import { Registry } from './images/registry';
import { ensureAddonImages, pullReference } from './node/addon-images';
import {
  AddonImages,
  CLUSTER_DNS,
  clusterDnsManifest,
  INGRESS_CONTROLLER,
  ingressControllerManifest,
} from './node/addons';
import { LOCAL_PATH_STORAGE, localPathStorageManifest } from './node/local-path-storage';
import { NODE_NAME, nodePlan, NodePlan, SERVICE_CIDR } from './node/plan';
import { assertPreconditions } from './node/preconditions';
import { claimNodeIndex, RealNode, releaseNodeIndex } from './node/real-node';
import { get, waitUntil } from './probe';
import { binaryOf, ensureToolchain, Toolchain } from './toolchain';

const PORT_NAMES = [
  'apiserver',
  'etcd',
  'etcdPeer',
  'controllerManager',
  'scheduler',
  'kwok',
  'nats',
  'natsMonitor',
  'registry',
  'ingress',
] as const;
type PortName = (typeof PORT_NAMES)[number];
export type Ports = Record<PortName, number>;

/** The ports a developer's sandbox prefers; tests take whatever is free. */
export const conventionalPorts: Ports = {
  apiserver: 6443,
  etcd: 2379,
  etcdPeer: 2380,
  controllerManager: 10257,
  scheduler: 10259,
  kwok: 10247,
  nats: 4222,
  natsMonitor: 8222,
  registry: 5000,
  // The ingress controller, as a cluster's load balancer would serve it: store URLs need no port.
  ingress: 80,
};

export interface SandboxOptions {
  /** Where data, logs, certificates and the kubeconfig live. */
  readonly stateDir: string;
  readonly preferredPorts?: Partial<Ports>;
  readonly nodes?: number;
  /** A real node beside the KWOK ones (default on; see node/real-node.ts). */
  readonly realNode?: boolean;
  /**
   * The API server writes an audit event (metadata only: who, verb, resource) for every request it answers to
   * `auditLog` (one JSON line each), e.g. for a benchmark to count each client's requests. Default off.
   */
  readonly auditLog?: boolean;
}

/** Metadata for every request, once, when it completes. */
const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived, ResponseStarted]
rules:
  - level: Metadata
`;

/** What the real node runs, by the names its pods use. */
export type NodeImages = BaseImages & AddonImages & { readonly medusa: MedusaStoreImages };

interface SandboxState {
  readonly ports: Ports;
  readonly toolchain: Toolchain;
  /** Which address block the real node took (node/plan.ts), kept like the ports. */
  readonly nodeIndex: number;
}

export interface ComponentStatus {
  readonly name: string;
  readonly pid?: number;
  readonly healthy: boolean;
  readonly endpoint: string;
}

/** Start order; `down` stops in reverse. */
const COMPONENTS = [
  'etcd',
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'kwok',
  'nats-server',
] as const;
export type Component = (typeof COMPONENTS)[number];

/**
 * A real Kubernetes control plane (etcd, API server, controller-manager, scheduler) with KWOK
 * playing the kubelets, plus a NATS JetStream server, all on loopback and all under one state folder.
 */
export class Sandbox {
  readonly daemons: Daemons;
  readonly kubeconfig: string;
  readonly natsUrlFile: string;

  constructor(private readonly options: SandboxOptions) {
    this.daemons = new Daemons(options.stateDir);
    this.kubeconfig = join(options.stateDir, 'kubeconfig');
    this.natsUrlFile = join(options.stateDir, 'nats-url');
  }

  get stateDir(): string {
    return this.options.stateDir;
  }

  /** Where the API server's audit events go, with `auditLog` on. */
  get auditLog(): string {
    return join(this.stateDir, 'logs', 'audit.log');
  }

  async up(): Promise<void> {
    const started = Date.now();
    if (this.withRealNode) assertPreconditions();
    const toolchain = await ensureToolchain();
    const { ports, nodeIndex } = await this.recordState(toolchain);
    const plan = nodePlan(nodeIndex, this.stateDir);
    const pki = await this.pki(plan);
    await this.writeConfigs(pki, ports);

    const startedNow: Component[] = [];
    try {
      for (const component of COMPONENTS) {
        if (this.daemons.pidOf(component) !== undefined) continue;
        for (const port of this.portsOf(component, ports)) {
          if (!(await isPortFree(port))) {
            throw new Error(
              `port ${port} (for ${component}) is taken by another program: stop it, or run \`npm run sandbox -- down --purge\` to pick new ports`,
            );
          }
        }
        await this.daemons.start(this.specOf(component, toolchain, pki, ports, plan));
        startedNow.push(component);
        await this.waitHealthy(component, pki, ports);
      }
      await this.ensureNodes();
      if (this.withRealNode) await this.realNodeUp(toolchain, pki, ports, plan);
    } catch (error) {
      if (this.withRealNode) {
        await new RealNode(this.daemons, plan).down();
        await this.registry(toolchain, ports).stop();
      }
      for (const component of [...startedNow].reverse()) await this.daemons.stop(component);
      throw error;
    }
    await writeFile(this.natsUrlFile, `nats://127.0.0.1:${ports.nats}\n`);
    log.step(startedNow.length ? `up in ${formatDuration(Date.now() - started)}` : 'already up');
  }

  async down(options: { purge?: boolean } = {}): Promise<void> {
    for (const daemon of await stopDaemonsBelow(this.stateDir)) log.step(`stopped ${relative(this.stateDir, daemon)}`);
    const state = existsSync(this.stateFile) ? await this.state() : undefined;
    if (state) {
      await new RealNode(this.daemons, nodePlan(state.nodeIndex, this.stateDir)).down();
      await this.registry(state.toolchain, state.ports).stop();
    }
    for (const component of [...COMPONENTS].reverse()) {
      if (await this.daemons.stop(component)) log.step(`stopped ${component}`);
    }
    await rm(this.natsUrlFile, { force: true });
    if (options.purge) {
      await rm(this.stateDir, { recursive: true, force: true });
      if (state) await releaseNodeIndex(state.nodeIndex, this.stateDir);
      log.step(`removed ${relative(process.cwd(), this.stateDir) || this.stateDir}`);
    }
  }

  /** Stops one component and brings it back on its ports and data, as after a crash; the rest runs on untouched. */
  async restart(component: Component): Promise<void> {
    const { toolchain, ports, nodeIndex } = await this.state();
    const plan = nodePlan(nodeIndex, this.stateDir);
    const pki = await this.pki(plan);
    await this.daemons.stop(component);
    await this.daemons.start(this.specOf(component, toolchain, pki, ports, plan));
    await this.waitHealthy(component, pki, ports);
  }

  async status(): Promise<ComponentStatus[]> {
    if (!existsSync(this.stateFile)) return COMPONENTS.map((name) => ({ name, healthy: false, endpoint: '' }));
    const { ports, nodeIndex } = await this.state();
    const plan = nodePlan(nodeIndex, this.stateDir);
    const pki = await this.pki(plan);
    const controlPlane = await Promise.all(
      COMPONENTS.map(async (name) => {
        const pid = this.daemons.pidOf(name);
        const healthy = pid !== undefined && (await this.isHealthy(name, pki, ports));
        return { name, pid, healthy, endpoint: this.endpointOf(name, ports) };
      }),
    );
    return this.withRealNode ? [...controlPlane, ...(await new RealNode(this.daemons, plan).status())] : controlPlane;
  }

  async natsUrl(): Promise<string> {
    return (await readFile(this.natsUrlFile, 'utf8')).trim();
  }

  /** Runs kubectl (or helm) as the sandbox admin, with the binaries the last `up` used. */
  async kubectl(args: readonly string[], input?: string): Promise<string> {
    const { toolchain } = await this.state();
    const { stdout } = await exec(binaryOf(toolchain, 'kubectl'), ['--kubeconfig', this.kubeconfig, ...args], {
      input,
    });
    return stdout;
  }

  /** The images the real node runs, as pods name them (registry.urumi.test/…): the bases and the add-ons. */
  async nodeImages(): Promise<NodeImages> {
    if (!existsSync(this.nodeImagesFile)) throw new Error('the sandbox has no real node: run `npm run sandbox -- up`');
    return JSON.parse(await readFile(this.nodeImagesFile, 'utf8')) as NodeImages;
  }

  /** The loopback ports the last `up` used (the ingress controller's answers store and console URLs). */
  async ports(): Promise<Ports> {
    return (await this.state()).ports;
  }

  private get nodeImagesFile(): string {
    return join(this.stateDir, 'node-images.json');
  }

  /** The real node of this sandbox (its namespace, plan and a way to run commands inside it). */
  async realNode(): Promise<RealNode> {
    return new RealNode(this.daemons, nodePlan((await this.state()).nodeIndex, this.stateDir));
  }

  /** The path of one of the binaries the last `up` used (helm, kubectl, …). */
  async binary(name: string): Promise<string> {
    return binaryOf((await this.state()).toolchain, name);
  }

  async helm(args: readonly string[]): Promise<string> {
    const { toolchain } = await this.state();
    const { stdout } = await exec(binaryOf(toolchain, 'helm'), ['--kubeconfig', this.kubeconfig, ...args]);
    return stdout;
  }

  /**
   * Writes a kubeconfig that authenticates as a ServiceAccount with a bound token (TokenRequest API),
   * so a service runs here under the same identity and RBAC as in the cluster. Returns its path.
   */
  async serviceAccountKubeconfig(namespace: string, serviceAccount: string): Promise<string> {
    const token = (await this.kubectl(['create', 'token', serviceAccount, '-n', namespace, '--duration=24h'])).trim();
    const admin = await readFile(this.kubeconfig, 'utf8');
    const field = (name: string) => new RegExp(`${name}: (\\S+)`).exec(admin)?.[1] ?? '';
    const file = join(this.stateDir, 'identities', `${namespace}.${serviceAccount}.kubeconfig`);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(
      file,
      `apiVersion: v1
kind: Config
clusters:
  - name: urumi-sandbox
    cluster:
      server: ${field('server')}
      certificate-authority-data: ${field('certificate-authority-data')}
users:
  - name: ${serviceAccount}
    user:
      token: ${token}
contexts:
  - name: urumi-sandbox
    context:
      cluster: urumi-sandbox
      user: ${serviceAccount}
current-context: urumi-sandbox
`,
      { mode: 0o600 },
    );
    return file;
  }

  private get stateFile(): string {
    return join(this.stateDir, 'state.json');
  }

  private async state(): Promise<SandboxState> {
    if (!existsSync(this.stateFile)) throw new Error('the sandbox is not up: run `npm run sandbox -- up`');
    return JSON.parse(await readFile(this.stateFile, 'utf8')) as SandboxState;
  }

  private get withRealNode(): boolean {
    return this.options.realNode ?? true;
  }

  private pki(plan: NodePlan): Promise<Pki> {
    return ensurePki(join(this.stateDir, 'pki'), this.withRealNode ? [plan.hostIp] : []);
  }

  /**
   * Ports and the real node's address block, chosen on the first `up` and kept, so the kubeconfig and NATS URL stay
   * valid across restarts; the toolchain is recorded beside them for kubectl and helm.
   */
  private async recordState(toolchain: Toolchain): Promise<SandboxState> {
    const previous = existsSync(this.stateFile) ? await this.state() : undefined;
    const state: SandboxState = {
      ports: await this.choosePorts(previous?.ports),
      toolchain,
      nodeIndex: previous?.nodeIndex ?? (await claimNodeIndex(this.stateDir)),
    };
    await mkdir(this.stateDir, { recursive: true });
    await writeFile(this.stateFile, JSON.stringify(state, null, 2) + '\n');
    return state;
  }

  /** The registry the real node pulls from (its storage outlives the sandbox, so pushed layers are pushed once). */
  registry(toolchain: Toolchain, ports: Ports): Registry {
    return new Registry({ stateDir: this.stateDir, storageDir: registryCacheDir(), port: ports.registry, toolchain });
  }

  /** Runs `work` with a BuildKit daemon pushing to this sandbox's registry (concurrent sandboxes take turns). */
  async withImageBuilder<T>(work: (builder: ImageBuilder) => Promise<T>): Promise<T> {
    const { toolchain, ports } = await this.state();
    const builder = new ImageBuilder({
      stateDir: this.stateDir,
      registry: this.registry(toolchain, ports).address,
      toolchain,
    });
    await builder.start();
    try {
      return await work(builder);
    } finally {
      await builder.stop();
    }
  }

  private async realNodeUp(toolchain: Toolchain, pki: Pki, ports: Ports, plan: NodePlan): Promise<void> {
    const registry = this.registry(toolchain, ports);
    if (!(await registry.isHealthy())) await registry.start();
    const images = await this.withImageBuilder(async (builder) => {
      const bases = await ensureBaseImages(builder);
      const pulled = Object.fromEntries(
        Object.entries(bases).map(([name, pushed]) => [name, pullReference(pushed, builder.registry)]),
      ) as unknown as BaseImages;
      // Medusa stores run on the real node: their images are there before anyone asks for one.
      const [addons, medusa] = await Promise.all([
        ensureAddonImages(builder, toolchain),
        ensureMedusaStoreImages(builder, toolchain, bases),
      ]);
      return { ...pulled, ...addons, medusa: medusa.images } satisfies NodeImages;
    });
    await writeFile(this.nodeImagesFile, JSON.stringify(images, null, 2) + '\n');
    await this.kubectl(['apply', '--server-side', '--field-manager=urumi-sandbox', '-f', '-'], REAL_NODE_RBAC);
    await new RealNode(this.daemons, plan).up(
      {
        kubelet: binaryOf(toolchain, 'kubelet'),
        kubeProxy: binaryOf(toolchain, 'kube-proxy'),
        kubeRouter: binaryOf(toolchain, 'kube-router'),
      },
      pki,
      {
        apiserverPort: ports.apiserver,
        registryPort: ports.registry,
        ingressPort: ports.ingress,
        pauseImage: images.pause,
      },
    );
    await this.kubectl(['wait', '--for=condition=Ready', `node/${NODE_NAME}`, '--timeout=120s']);
    const storage = localPathStorageManifest({
      provisionerImage: images.localPathProvisioner,
      helperImage: images.debian,
      volumesDir: join(plan.dir, 'volumes'),
      isDefaultClass: false,
    });
    await this.kubectl(
      ['apply', '--server-side', '--field-manager=urumi-sandbox', '-f', '-'],
      [clusterDnsManifest(images), ingressControllerManifest(images), storage].join('\n---\n'),
    );
    for (const [namespace, deployment] of [
      [CLUSTER_DNS.namespace, 'coredns'],
      [INGRESS_CONTROLLER.namespace, 'traefik'],
      [LOCAL_PATH_STORAGE.namespace, 'local-path-provisioner'],
    ] as const) {
      await this.kubectl(['rollout', 'status', `deployment/${deployment}`, '-n', namespace, '--timeout=180s']);
    }
  }

  /** Keeps the ports already chosen and picks the rest (a sandbox made before a component was added has none for it). */
  private async choosePorts(chosen: Partial<Ports> = {}): Promise<Ports> {
    const ports = { ...chosen } as Ports;
    const taken = new Set<number>(Object.values(chosen));
    for (const name of PORT_NAMES) {
      if (chosen[name] !== undefined) continue;
      let port = await freePort(this.options.preferredPorts?.[name] ?? 0);
      while (taken.has(port)) port = await freePort(0);
      taken.add(port);
      ports[name] = port;
    }
    return ports;
  }

  private portsOf(component: Component, ports: Ports): number[] {
    switch (component) {
      case 'etcd':
        return [ports.etcd, ports.etcdPeer];
      case 'kube-apiserver':
        return [ports.apiserver];
      case 'kube-controller-manager':
        return [ports.controllerManager];
      case 'kube-scheduler':
        return [ports.scheduler];
      case 'kwok':
        return [ports.kwok];
      case 'nats-server':
        return [ports.nats, ports.natsMonitor];
    }
  }

  private endpointOf(component: Component, ports: Ports): string {
    switch (component) {
      case 'etcd':
        return `http://127.0.0.1:${ports.etcd}`;
      case 'kube-apiserver':
        return `https://127.0.0.1:${ports.apiserver}`;
      case 'kube-controller-manager':
        return `https://127.0.0.1:${ports.controllerManager}`;
      case 'kube-scheduler':
        return `https://127.0.0.1:${ports.scheduler}`;
      case 'kwok':
        return `http://127.0.0.1:${ports.kwok}`;
      case 'nats-server':
        return `nats://127.0.0.1:${ports.nats}`;
    }
  }

  private componentKubeconfig(file: string): string {
    return join(this.stateDir, 'pki', `${file}.kubeconfig`);
  }

  private async writeConfigs(pki: Pki, ports: Ports): Promise<void> {
    const server = `https://127.0.0.1:${ports.apiserver}`;
    await writeFile(this.kubeconfig, await renderKubeconfig(pki, identities.admin, server), { mode: 0o600 });
    for (const identity of [identities.controllerManager, identities.scheduler, identities.kwok]) {
      await writeFile(this.componentKubeconfig(identity.file), await renderKubeconfig(pki, identity, server), {
        mode: 0o600,
      });
    }
    if (this.options.auditLog) await writeFile(join(this.stateDir, 'audit-policy.yaml'), AUDIT_POLICY);
    await mkdir(join(this.stateDir, 'nats'), { recursive: true });
    await writeFile(
      join(this.stateDir, 'nats.conf'),
      `server_name: urumi-sandbox
listen: 127.0.0.1:${ports.nats}
http: 127.0.0.1:${ports.natsMonitor}
jetstream {
  store_dir: "${join(this.stateDir, 'nats')}"
}
`,
    );
  }

  private specOf(component: Component, toolchain: Toolchain, pki: Pki, ports: Ports, plan: NodePlan): DaemonSpec {
    const bin = (name: string) => binaryOf(toolchain, name);
    switch (component) {
      case 'etcd':
        return {
          name: component,
          command: bin('etcd'),
          args: [
            '--name=sandbox',
            `--data-dir=${join(this.stateDir, 'etcd')}`,
            `--listen-client-urls=http://127.0.0.1:${ports.etcd}`,
            `--advertise-client-urls=http://127.0.0.1:${ports.etcd}`,
            `--listen-peer-urls=http://127.0.0.1:${ports.etcdPeer}`,
            `--initial-advertise-peer-urls=http://127.0.0.1:${ports.etcdPeer}`,
            `--initial-cluster=sandbox=http://127.0.0.1:${ports.etcdPeer}`,
            '--listen-metrics-urls=',
            // A disposable local cluster: durability across power loss is not worth an fsync per write.
            '--unsafe-no-fsync',
            '--log-level=warn',
          ],
        };
      case 'kube-apiserver':
        return {
          name: component,
          command: bin('kube-apiserver'),
          args: [
            `--etcd-servers=http://127.0.0.1:${ports.etcd}`,
            '--bind-address=127.0.0.1',
            // Pods reach it at the real node's host end (relayed to loopback); the `kubernetes` Service points there.
            `--advertise-address=${this.withRealNode ? plan.hostIp : '127.0.0.1'}`,
            `--secure-port=${ports.apiserver}`,
            `--kubelet-client-certificate=${pki.certOf(identities.apiserverKubeletClient)}`,
            `--kubelet-client-key=${pki.keyOf(identities.apiserverKubeletClient)}`,
            '--kubelet-preferred-address-types=InternalIP,Hostname',
            `--tls-cert-file=${pki.serverCert}`,
            `--tls-private-key-file=${pki.serverKey}`,
            `--client-ca-file=${pki.caCert}`,
            '--authorization-mode=Node,RBAC',
            '--anonymous-auth=false',
            '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
            `--service-account-key-file=${pki.serviceAccountPub}`,
            `--service-account-signing-key-file=${pki.serviceAccountKey}`,
            `--service-cluster-ip-range=${SERVICE_CIDR}`,
            '--allow-privileged=true',
            '--enable-admission-plugins=NamespaceLifecycle,LimitRanger,ServiceAccount,NodeRestriction,PodSecurity,ResourceQuota,DefaultStorageClass,DefaultTolerationSeconds,StorageObjectInUseProtection,DefaultIngressClass,MutatingAdmissionWebhook,ValidatingAdmissionWebhook,ValidatingAdmissionPolicy',
            '--profiling=false',
            ...(this.options.auditLog
              ? [
                  `--audit-policy-file=${join(this.stateDir, 'audit-policy.yaml')}`,
                  `--audit-log-path=${this.auditLog}`,
                  '--audit-log-format=json',
                  '--audit-log-maxsize=0',
                ]
              : []),
          ],
        };
      case 'kube-controller-manager':
        return {
          name: component,
          command: bin('kube-controller-manager'),
          args: [
            `--kubeconfig=${this.componentKubeconfig(identities.controllerManager.file)}`,
            `--authentication-kubeconfig=${this.componentKubeconfig(identities.controllerManager.file)}`,
            `--authorization-kubeconfig=${this.componentKubeconfig(identities.controllerManager.file)}`,
            '--bind-address=127.0.0.1',
            `--secure-port=${ports.controllerManager}`,
            `--root-ca-file=${pki.caCert}`,
            `--service-account-private-key-file=${pki.serviceAccountKey}`,
            `--cluster-signing-cert-file=${pki.caCert}`,
            `--cluster-signing-key-file=${pki.caKey}`,
            '--use-service-account-credentials=true',
            `--service-cluster-ip-range=${SERVICE_CIDR}`,
            '--leader-elect=false',
            // Dynamic PersistentVolumes (hostPath under /tmp/hostpath_pv) for the default StorageClass.
            '--enable-hostpath-provisioner=true',
            // KWOK renews the fake nodes' Leases (--node-lease-duration-seconds); on two busy cores a renewal can be
            // late. A node marked NotReady would mark its pods NotReady for good (KWOK only readies Pending pods), so
            // allow more than the default 50 s.
            '--node-monitor-grace-period=5m',
            '--kube-api-qps=200',
            '--kube-api-burst=400',
            '--profiling=false',
          ],
        };
      case 'kube-scheduler':
        return {
          name: component,
          command: bin('kube-scheduler'),
          args: [
            `--kubeconfig=${this.componentKubeconfig(identities.scheduler.file)}`,
            `--authentication-kubeconfig=${this.componentKubeconfig(identities.scheduler.file)}`,
            `--authorization-kubeconfig=${this.componentKubeconfig(identities.scheduler.file)}`,
            '--bind-address=127.0.0.1',
            `--secure-port=${ports.scheduler}`,
            '--leader-elect=false',
            '--profiling=false',
          ],
        };
      case 'kwok':
        return {
          name: component,
          command: bin('kwok'),
          args: [
            `--kubeconfig=${this.componentKubeconfig(identities.kwok.file)}`,
            '--manage-all-nodes=false',
            '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
            '--cidr=10.244.0.0/16',
            '--node-ip=10.0.0.1',
            `--server-address=127.0.0.1:${ports.kwok}`,
            // A Lease per node, renewed as a kubelet renews it: its heartbeat stage writes the node's status only every
            // 10 to 20 minutes, past the node lifecycle controller's grace period without one.
            '--node-lease-duration-seconds=40',
            ...toolchain.kwokStages.map((stage) => `--config=${stage}`),
          ],
        };
      case 'nats-server':
        return {
          name: component,
          command: bin('nats-server'),
          args: ['--config', join(this.stateDir, 'nats.conf')],
        };
    }
  }

  private async isHealthy(component: Component, pki: Pki, ports: Ports): Promise<boolean> {
    const ok = async (url: string, tls?: Parameters<typeof get>[1]) => (await get(url, tls)).status === 200;
    switch (component) {
      case 'etcd':
        return (await get(`http://127.0.0.1:${ports.etcd}/health`)).body.includes('"health":"true"');
      case 'kube-apiserver': {
        const [ca, cert, key] = await Promise.all(
          [pki.caCert, pki.certOf(identities.admin), pki.keyOf(identities.admin)].map((f) => readFile(f)),
        );
        return ok(`https://127.0.0.1:${ports.apiserver}/readyz`, { ca, cert, key });
      }
      case 'kube-controller-manager':
        return ok(`https://127.0.0.1:${ports.controllerManager}/healthz`);
      case 'kube-scheduler':
        return ok(`https://127.0.0.1:${ports.scheduler}/healthz`);
      case 'kwok':
        return ok(`http://127.0.0.1:${ports.kwok}/healthz`);
      case 'nats-server':
        return ok(`http://127.0.0.1:${ports.natsMonitor}/healthz?js-enabled-only=true`);
    }
  }

  private async waitHealthy(component: Component, pki: Pki, ports: Ports): Promise<void> {
    const started = Date.now();
    let died = false;
    try {
      await waitUntil(
        `${component} did not start`,
        () => this.isHealthy(component, pki, ports),
        90_000,
        () => {
          died = this.daemons.pidOf(component) === undefined;
          return died ? 'the process exited' : undefined;
        },
      );
    } catch (error) {
      const tail = await this.daemons.logTail(component);
      throw new Error(`${(error as Error).message}. Its log, ${this.daemons.logFile(component)}, ends with:\n${tail}`);
    }
    log.step(`${component} ready (${formatDuration(Date.now() - started)})`);
  }

  private async ensureNodes(): Promise<void> {
    await this.kubectl(
      ['apply', '--server-side', '--field-manager=urumi-sandbox', '-f', '-'],
      `${fakeNodesManifest(this.options.nodes ?? 4)}\n---\n${DEFAULT_STORAGE_CLASS}`,
    );
    await this.kubectl(['wait', '--for=condition=Ready', 'node', '--all', '--timeout=60s']);
    // Pods are admitted only once the namespace's default ServiceAccount exists.
    await this.kubectl(['wait', '--for=create', 'serviceaccount/default', '-n', 'default', '--timeout=60s']);
  }
}

/** PVCs bind at once to hostPath volumes from the controller-manager's test provisioner (no containers use them). */
const DEFAULT_STORAGE_CLASS = `apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: standard
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
provisioner: kubernetes.io/host-path
reclaimPolicy: Delete
volumeBindingMode: Immediate
`;

/**
 * What the real node's own components may do beyond their default roles: the API server reaches kubelets (exec,
 * logs), and kube-router reads what it turns into iptables rules.
 */
const REAL_NODE_RBAC = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: urumi-sandbox:apiserver-kubelet-client
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: system:kubelet-api-admin }
subjects:
  - { apiGroup: rbac.authorization.k8s.io, kind: User, name: ${identities.apiserverKubeletClient.user} }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: urumi-sandbox:kube-router
rules:
  - apiGroups: [""]
    resources: [namespaces, pods, services, nodes, endpoints]
    verbs: [get, list, watch]
  - apiGroups: [networking.k8s.io]
    resources: [networkpolicies]
    verbs: [get, list, watch]
  - apiGroups: [discovery.k8s.io]
    resources: [endpointslices]
    verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: urumi-sandbox:kube-router
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: urumi-sandbox:kube-router }
subjects:
  - { apiGroup: rbac.authorization.k8s.io, kind: User, name: ${identities.kubeRouter.user} }
`;
