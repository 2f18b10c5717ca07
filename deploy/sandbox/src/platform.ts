import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { passwordOf, renderChartNats, startChartNats } from './chart-nats';
import { compileServices, serviceEntry } from './compile';
import { log } from './log';
import type { ScrapeTarget } from './prometheus';
import { NatsCluster } from './nats-cluster';
import { FileLock } from './file-lock';
import { TcpProxy } from './testing/tcp-proxy';
import { INGRESS_CONTROLLER } from './node/addons';
import { LOCAL_PATH_STORAGE } from './node/local-path-storage';
import { REAL_NODE_LABEL, REAL_NODE_TAINT } from './node/plan';
import { repoRoot } from './paths';
import { get, waitUntil } from './probe';
import { freePort } from './ports';
import { Sandbox } from './sandbox';
import { ensureTokens, SeededUser } from './tokens';

/**
 * How every service's Node.js runs (the images set the same NODE_OPTIONS): readable stack traces, and a
 * heap sized for a 150 MB service rather than for this machine's memory — a small young generation and a
 * capped old one keep the resident set flat under load.
 */
export const SERVICE_NODE_FLAGS = ['--enable-source-maps', '--max-semi-space-size=4', '--max-old-space-size=96'];

export interface PlatformOptions {
  readonly gatewayPort?: number;
  /** Users and tokens (default: the sandbox's tokens.json, seeded with an admin and two tenants). */
  readonly users?: readonly SeededUser[];
  /** Which services to run (default: all four). */
  readonly services?: readonly ServiceName[];
  /** Extra environment for every service (limits, log level, …). */
  readonly env?: Readonly<Record<string, string>>;
  /** Extra environment for one service, over `env` (e.g. its own NATS user). */
  readonly serviceEnv?: Partial<Record<ServiceName, Readonly<Record<string, string>>>>;
  /** Where service output goes: each line prefixed with the service name (default: this process's stdout). */
  readonly output?: (line: string) => void;
  /**
   * Run alongside this (started) platform: its NATS, and its claim on the sandbox's Stores, e.g. to replace one
   * of its services with a differently configured one. Default: a NATS of its own.
   */
  readonly joins?: Platform;
  /** Where the platform's own NATS keeps its JetStream files across runs (default: a temporary folder). */
  readonly natsDir?: string;
  /**
   * Stores that really run: Medusa's on the sandbox's real node (its images from the local registry, volumes from
   * local-path); WooCommerce's stay on KWOK (deploy/sandbox/engine-values). Default: every store on KWOK.
   */
  readonly realStores?: boolean;
  /**
   * Processes of each service (default 1 each), every one with its own POD_NAME (`gateway-0`, `gateway-1`, …) and
   * ports; the provisioner's and cleanup's stand for their service's Lease. Replica 0's output is prefixed [gateway],
   * replica n's [gateway-n].
   */
  readonly replicas?: Partial<Record<ServiceName, number>>;
  /**
   * NATS servers: 1 (the chart's values-local.yaml nats.conf, the default) or 3 (values-prod.yaml's: a cluster, with
   * every stream and bucket at 3 replicas). Ignored with `joins`.
   */
  readonly natsServers?: 1 | 3;
  /**
   * Each service process reaches NATS only through TCP proxies of its own, one per server (`natsLinks` returns them), so
   * a run can stall or cut one process off from NATS; the servers do not advertise their own addresses to clients.
   */
  readonly natsLinks?: boolean;
}

/** How a service process ended by itself (not by stop, kill or terminate). */
export interface UnexpectedExit {
  readonly instance: string;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly at: Date;
  /** Its last lines of output. */
  readonly output: readonly string[];
}

/** The services that elect a leader on a Lease. */
export type OperatorName = 'provisioner' | 'cleanup';

/**
 * The operators' leader election in the sandbox: as client-go's protocol, with shorter times than production's
 * 15 / 10 / 2 s, so a provisioner killed by a test is replaced within seconds. A test may set its own.
 */
export const SANDBOX_LEADER_ELECTION_ENV: Readonly<Record<string, string>> = {
  LEASE_DURATION_SECONDS: '5',
  RENEW_DEADLINE_SECONDS: '4',
  RETRY_PERIOD_SECONDS: '1',
};

/** The engines' sandbox overrides, one `<engine>.yaml` each (the provisioner's ENGINE_VALUES_DIR layout). */
export const SANDBOX_ENGINE_VALUES_DIR = join(repoRoot, 'deploy/sandbox/engine-values');

/** The provisioner's settings for stores that really run (PlatformOptions.realStores). */
export const REAL_STORES_ENV: Readonly<Record<string, string>> = {
  ENGINE_VALUES_DIR: SANDBOX_ENGINE_VALUES_DIR,
  STORE_NODE_SELECTOR: `${REAL_NODE_LABEL.key}=${REAL_NODE_LABEL.value}`,
  STORE_TOLERATIONS: `${REAL_NODE_TAINT.key}=${REAL_NODE_TAINT.value}:${REAL_NODE_TAINT.effect}`,
  STORE_STORAGE_CLASS: LOCAL_PATH_STORAGE.storageClass,
};

export const SERVICES = ['gateway', 'quota', 'provisioner', 'cleanup'] as const;
export type ServiceName = (typeof SERVICES)[number];

interface ServiceSpec {
  readonly service: string;
  readonly env: Record<string, string>;
  readonly readyUrl: string;
}

/** The platform's NATS: the chart's nats.conf (users, grants) on loopback; `user`/`password` sign in as admin. */
export interface PlatformNats {
  readonly url: string;
  readonly user: string;
  readonly password: string;
  /** Every NATS user's password (each service's, and admin's), by user name. */
  readonly passwords: Readonly<Record<string, string>>;
  /** Each server's monitoring endpoint (/connz, /jsz, …), in the order of `url`. */
  readonly monitorUrls: readonly string[];
}

/** What a running platform offers: where to reach it and who may sign in. */
export interface PlatformInfo {
  readonly gatewayUrl: string;
  /** The gateway's Prometheus endpoint (its own port, as in the cluster). */
  readonly metricsUrl: string;
  readonly users: readonly SeededUser[];
  readonly nats: PlatformNats;
}

/**
 * The platform's services as processes on this machine, against a running sandbox: each one runs from
 * its compiled build (dist/, brought up to date by start()), as its container image runs it, signed in to a
 * NATS of the platform's own that runs the chart's nats.conf, each service as its own user. A provisioner and
 * cleanup act on every Store of the cluster, so a platform running either holds the sandbox's operator lock
 * from start() to stop(): another one waits.
 */
export class Platform {
  private readonly specs = new Map<ServiceName, ServiceSpec>();
  /** By instance: the service's name for replica 0, `<service>-<n>` for replica n. */
  private readonly children = new Map<string, ChildProcess>();
  /** By instance, as last launched: its environment and where it answers. */
  private readonly instances = new Map<string, ServiceSpec>();
  private natsCluster?: NatsCluster;
  private natsInfo?: PlatformNats;
  private operatorLock?: FileLock;
  /** By instance: its proxies to the NATS servers (PlatformOptions.natsLinks). */
  private readonly links = new Map<string, TcpProxy[]>();
  private readonly exits: UnexpectedExit[] = [];

  constructor(
    private readonly sandbox: Sandbox,
    private readonly options: PlatformOptions = {},
  ) {}

  async start(): Promise<PlatformInfo> {
    const { compiled, total } = await compileServices();
    if (compiled) log.step(`compiled ${compiled} of ${total} service sources into dist/`);
    const tokensFile = join(this.sandbox.stateDir, this.options.users ? 'platform-tokens.json' : 'tokens.json');
    const users = await ensureTokens(tokensFile, this.options.users);
    const identities = await installPlatformResources(this.sandbox);
    const wanted = new Set(this.options.services ?? SERVICES);
    const nats = await this.startNats(wanted.has('provisioner') || wanted.has('cleanup'));

    const [gatewayPort, metricsPort, quotaPort, provisionerPort, cleanupPort] = [
      this.options.gatewayPort ?? (await freePort()),
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    const natsEnv = (user: ServiceName) => ({
      NATS_URL: nats.url,
      NATS_USER: user,
      NATS_PASSWORD: passwordOf(nats, user),
      NATS_REPLICAS: String(nats.url.split(',').length),
    });
    const common = this.options.env ?? {};
    const operator = {
      HELM_BINARY: await this.sandbox.binary('helm'),
      CHARTS_DIR: join(repoRoot, 'charts'),
      ...SANDBOX_LEADER_ELECTION_ENV,
    };
    const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
    // The gateway first: it creates the streams the other services consume.
    this.specs.set('gateway', {
      service: 'gateway',
      env: {
        ...natsEnv('gateway'),
        // WooCommerce stores stay on the KWOK nodes here (its image cannot be built): the API and console say so.
        SIMULATED_ENGINES: 'woocommerce',
        ...common,
        GATEWAY_PORT: String(gatewayPort),
        GATEWAY_METRICS_PORT: String(metricsPort),
        AUTH_MODE: 'tokens',
        AUTH_TOKENS_FILE: tokensFile,
      },
      readyUrl: `${gatewayUrl}/readyz`,
    });
    this.specs.set('quota', {
      service: 'quota',
      env: { ...natsEnv('quota'), ...common, QUOTA_PORT: String(quotaPort) },
      readyUrl: `http://127.0.0.1:${quotaPort}/readyz`,
    });
    this.specs.set('provisioner', {
      service: 'provisioner',
      env: {
        ...operator,
        ...natsEnv('provisioner'),
        ...common,
        KUBECONFIG: identities.provisioner,
        PROVISIONER_PORT: String(provisionerPort),
        // The sandbox's ingress controller, on its real node: store Ingresses and their NetworkPolicies name it.
        INGRESS_CLASS: INGRESS_CONTROLLER.ingressClass,
        INGRESS_NAMESPACE: INGRESS_CONTROLLER.namespace,
        INGRESS_POD_LABELS: JSON.stringify(INGRESS_CONTROLLER.podLabels),
        ...(this.options.realStores ? REAL_STORES_ENV : {}),
      },
      readyUrl: `http://127.0.0.1:${provisionerPort}/readyz`,
    });
    this.specs.set('cleanup', {
      service: 'cleanup',
      env: {
        ...operator,
        ...natsEnv('cleanup'),
        ...common,
        KUBECONFIG: identities.cleanup,
        CLEANUP_PORT: String(cleanupPort),
      },
      readyUrl: `http://127.0.0.1:${cleanupPort}/readyz`,
    });
    for (const name of SERVICES) if (!wanted.has(name)) this.specs.delete(name);
    for (const [name, spec] of this.specs) {
      this.specs.set(name, { ...spec, env: { ...spec.env, ...this.options.serviceEnv?.[name] } });
    }
    for (const name of this.specs.keys()) {
      for (let replica = 0; replica < (this.options.replicas?.[name] ?? 1); replica++) await this.launch(name, replica);
    }
    return { gatewayUrl, metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`, users, nats };
  }

  /** The platform's NATS (the joined platform's), once start() has begun. */
  get nats(): PlatformNats {
    const nats = this.natsInfo ?? this.options.joins?.natsInfo;
    if (!nats) throw new Error('the platform has no NATS yet: start() it first');
    return nats;
  }

  /** What the platform's NATS server logged (refused permissions show here). */
  async natsLog(): Promise<string> {
    return this.natsCluster ? this.natsCluster.log(0) : (this.options.joins?.natsLog() ?? '');
  }

  /** Stops one of the platform's NATS servers and starts it again on the same port, with its JetStream files. */
  async restartNats(index = 0): Promise<void> {
    const cluster = this.ownNats();
    await cluster.stopServer(index);
    await cluster.startServer(index);
  }

  /** Stops every NATS server, then starts them all again (together: a cluster's JetStream needs a quorum to answer). */
  async restartAllNats(): Promise<void> {
    const cluster = this.ownNats();
    const servers = cluster.urls.map((_, index) => index);
    await Promise.all(servers.map((index) => cluster.stopServer(index)));
    await Promise.all(servers.map((index) => cluster.startServer(index)));
  }

  /** The process id of a NATS server (to stall it with SIGSTOP). */
  natsPid(index = 0): number | undefined {
    return this.ownNats().pidOf(index);
  }

  private ownNats(): NatsCluster {
    if (!this.natsCluster) throw new Error('the platform runs no NATS of its own: use the one it joins');
    return this.natsCluster;
  }

  /** An instance's proxies to the NATS servers, one per server (PlatformOptions.natsLinks). */
  natsLinks(name: ServiceName, replica = 0): readonly TcpProxy[] {
    const links = this.links.get(instanceName(name, replica));
    if (!links) throw new Error(`${instanceName(name, replica)} has no NATS links: start the platform with natsLinks`);
    return links;
  }

  /** Every time a service process ended by itself: a crash, not a stop, kill or terminate of this platform's. */
  unexpectedExits(): readonly UnexpectedExit[] {
    return [...this.exits];
  }

  private async startNats(operates: boolean): Promise<PlatformNats> {
    if (this.options.joins) return this.options.joins.nats;
    // Provisioners and cleanups act on every Store of the cluster: one platform's at a time per sandbox.
    if (operates) {
      this.operatorLock = await FileLock.acquire(
        join(this.sandbox.stateDir, 'platform-operator.lock'),
        "running a platform's provisioner and cleanup on this sandbox (a second platform in one process: pass `joins`)",
        log.step,
      );
    }
    const servers = this.options.natsServers ?? 1;
    const rendered = await renderChartNats(this.sandbox, servers > 1 ? 'values-prod.yaml' : 'values-local.yaml');
    // Through their links, clients must know only the proxies: a server's own address would bypass them.
    const config = this.options.natsLinks ? withoutAdvertising(rendered.config) : rendered.config;
    this.natsCluster = await startChartNats({ ...rendered, config }, servers, this.options.natsDir);
    const url = this.natsCluster.urls.join(',');
    this.natsInfo = {
      url,
      user: 'admin',
      password: passwordOf(rendered, 'admin'),
      passwords: rendered.passwords,
      monitorUrls: this.natsCluster.monitorUrls,
    };
    return this.natsInfo;
  }

  /** SIGKILL, as a crash would: no drain, no acks for what was in flight. */
  kill(name: ServiceName, replica = 0): Promise<void> {
    return this.stopInstance(name, replica, 'SIGKILL');
  }

  /** SIGTERM, as Kubernetes stops a pod: the service shuts down cleanly (a leader hands its Lease over) and exits. */
  terminate(name: ServiceName, replica = 0): Promise<void> {
    return this.stopInstance(name, replica, 'SIGTERM');
  }

  private async stopInstance(name: ServiceName, replica: number, signal: NodeJS.Signals): Promise<void> {
    const instance = instanceName(name, replica);
    const child = this.children.get(instance);
    this.children.delete(instance);
    if (child) await stopChild(child, signal);
  }

  /** SIGSTOP (a hung process: alive, holding its connections, doing nothing) or SIGCONT (it carries on). */
  suspend(name: ServiceName, signal: 'SIGSTOP' | 'SIGCONT', replica = 0): void {
    const child = this.children.get(instanceName(name, replica));
    if (!child) throw new Error(`${instanceName(name, replica)} is not running`);
    child.kill(signal);
  }

  async launch(name: ServiceName, replica = 0): Promise<void> {
    const base = this.specs.get(name);
    if (!base) throw new Error(`${name} is not part of this platform; start() it first`);
    const instance = instanceName(name, replica);
    const spec = await this.withLinks(instance, await this.replicaSpec(name, base, replica));
    this.instances.set(instance, spec);
    const child = spawn(process.execPath, [...SERVICE_NODE_FLAGS, serviceEntry(spec.service)], {
      cwd: repoRoot,
      env: { ...process.env, ...spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.children.set(instance, child);
    const write = this.options.output ?? ((line: string) => process.stdout.write(`${line}\n`));
    const recent: string[] = [];
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream }).on('line', (line) => {
        recent.push(line);
        if (recent.length > 20) recent.shift();
        write(`[${instance}] ${line}`);
      });
    }
    child.once('exit', (code, signal) => {
      // stop, kill and terminate forget the child before they signal it.
      if (this.children.get(instance) !== child) return;
      this.children.delete(instance);
      this.exits.push({ instance, code, signal, at: new Date(), output: [...recent] });
    });
    const started = Date.now();
    await waitUntil(
      `${instance} did not become ready`,
      async () => (await get(spec.readyUrl)).status === 200,
      60_000,
      () =>
        child.exitCode !== null
          ? `it exited with code ${child.exitCode}; its last output:\n${recent.join('\n')}`
          : undefined,
    );
    log.step(`${instance} ready (${Math.round((Date.now() - started) / 100) / 10}s)`);
  }

  /** A replica's settings: its POD_NAME, and (past replica 0) ports of its own. */
  private async replicaSpec(name: ServiceName, spec: ServiceSpec, replica: number): Promise<ServiceSpec> {
    const podName = { POD_NAME: `${name}-${replica}` };
    if (replica === 0) return { ...spec, env: { ...spec.env, ...podName } };
    const port = await freePort();
    const metrics: Record<string, string> =
      name === 'gateway' ? { GATEWAY_METRICS_PORT: String(await freePort()) } : {};
    return {
      service: spec.service,
      env: { ...spec.env, ...podName, ...metrics, [`${name.toUpperCase()}_PORT`]: String(port) },
      readyUrl: `http://127.0.0.1:${port}/readyz`,
    };
  }

  /** With natsLinks, the instance reaches the NATS servers through proxies of its own (kept across relaunches). */
  private async withLinks(instance: string, spec: ServiceSpec): Promise<ServiceSpec> {
    if (!this.options.natsLinks) return spec;
    let links = this.links.get(instance);
    if (!links) {
      links = await Promise.all(this.ownNats().urls.map((url) => TcpProxy.start(url)));
      this.links.set(instance, links);
    }
    return { ...spec, env: { ...spec.env, NATS_URL: links.map((link) => link.url).join(',') } };
  }

  /** Where a service's replica answers HTTP (/healthz, /readyz, /metrics; the gateway's API), once launched. */
  urlOf(name: ServiceName, replica = 0): string {
    const spec = this.instances.get(instanceName(name, replica));
    if (!spec) throw new Error(`${instanceName(name, replica)} was never launched`);
    return spec.readyUrl.replace(/\/readyz$/, '');
  }

  /** Where a service's replica serves /metrics (the gateway's on a port of its own, off the public API). */
  metricsUrlOf(name: ServiceName, replica = 0): string {
    const port = this.instances.get(instanceName(name, replica))?.env['GATEWAY_METRICS_PORT'];
    if (name === 'gateway' && port) return `http://127.0.0.1:${port}/metrics`;
    return `${this.urlOf(name, replica)}/metrics`;
  }

  /** Every launched replica as a scrape target: job by service, instance by replica. */
  scrapeTargets(): ScrapeTarget[] {
    return [...this.instances].map(([instance, { service }]) => {
      const replica = instance === service ? 0 : Number(instance.slice(service.length + 1));
      return { job: service, instance, url: this.metricsUrlOf(service as ServiceName, replica) };
    });
  }

  /** The process id of a running service (for resident-memory readings). */
  pidOf(name: ServiceName, replica = 0): number | undefined {
    return this.children.get(instanceName(name, replica))?.pid;
  }

  async stop(): Promise<void> {
    const running = [...this.children.values()].reverse();
    this.children.clear();
    // A process a test left stopped must run again to hear the SIGTERM.
    for (const child of running) child.kill('SIGCONT');
    await Promise.all(running.map((child) => stopChild(child, 'SIGTERM')));
    await Promise.all([...this.links.values()].flat().map((link) => link.close()));
    this.links.clear();
    await this.natsCluster?.down();
    this.natsCluster = undefined;
    this.natsInfo = undefined;
    await this.operatorLock?.release();
    this.operatorLock = undefined;
  }
}

/** nats.conf whose cluster does not tell clients the servers' own addresses (they reach them only as configured). */
function withoutAdvertising(config: string): string {
  if (!/^cluster \{$/m.test(config)) return config;
  return config.replace(/^cluster \{$/m, 'cluster {\n  no_advertise: true');
}

const instanceName = (name: ServiceName, replica: number) => (replica === 0 ? name : `${name}-${replica}`);

function stopChild(child: ChildProcess, signal: NodeJS.Signals, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(signal);
  });
}

/** The namespace the platform's ServiceAccounts live in, as the chart installs them. */
export const PLATFORM_NAMESPACE = 'urumi-system';

/**
 * What the platform chart would install before its services start: the Store CRD, the platform
 * namespace, and each operator service's ServiceAccount, RBAC and admission policy (rendered from charts/platform).
 * Returns a kubeconfig per operator service that authenticates as its ServiceAccount.
 */
export async function installPlatformResources(sandbox: Sandbox): Promise<Record<'provisioner' | 'cleanup', string>> {
  const apply = (manifest: string) =>
    sandbox.kubectl(
      ['apply', '--server-side', '--force-conflicts', '--field-manager=urumi-platform', '-f', '-'],
      manifest,
    );
  await sandbox.kubectl([
    'apply',
    '--server-side',
    '--field-manager=urumi-platform',
    '-f',
    join(repoRoot, 'charts/platform/crds'),
  ]);
  await apply(`apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${PLATFORM_NAMESPACE}\n`);
  await apply(
    await sandbox.helm([
      'template',
      'urumi',
      join(repoRoot, 'charts/platform'),
      '-n',
      PLATFORM_NAMESPACE,
      '--show-only',
      'templates/rbac.yaml',
      '--show-only',
      'templates/admission-policy.yaml',
    ]),
  );
  await sandbox.kubectl(['wait', '--for=condition=Established', 'crd/stores.urumi.dev', '--timeout=30s']);
  return {
    provisioner: await sandbox.serviceAccountKubeconfig(PLATFORM_NAMESPACE, 'urumi-provisioner'),
    cleanup: await sandbox.serviceAccountKubeconfig(PLATFORM_NAMESPACE, 'urumi-cleanup'),
  };
}
