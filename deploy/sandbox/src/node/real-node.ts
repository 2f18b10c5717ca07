import { existsSync } from 'node:fs';
import { mkdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Daemons, DaemonSpec } from '../daemon';
import { cacheRoot } from '../paths';
import { exec } from '../exec';
import { formatDuration, log } from '../log';
import { identities, Pki, renderKubeconfig } from '../pki';
import { get, waitUntil } from '../probe';
import { createCgroup, daemonInCgroup, ownCgroup, removeCgroups } from './cgroups';
import {
  cniConfig,
  containerdConfig,
  KUBELET_SYSCTLS,
  kubeletConfig,
  kubeProxyConfig,
  nodePaths,
  NodePaths,
} from './configs';
import { INGRESS_CONTROLLER } from './addons';
import { NODE_NAME, NodePlan, REAL_NODE_LABEL, SERVICE_CIDR } from './plan';
import { assertPreconditions } from './preconditions';

/** Start order; `down` stops in reverse, then takes the namespace, cgroups and veth away. */
export const NODE_COMPONENTS = [
  'node-namespace',
  'relay-apiserver',
  'relay-registry',
  'relay-ingress',
  'containerd',
  'kubelet',
  'kube-proxy',
  'kube-router',
] as const;
export type NodeComponent = (typeof NODE_COMPONENTS)[number];

export interface RealNodeBinaries {
  readonly kubelet: string;
  readonly kubeProxy: string;
  readonly kubeRouter: string;
}

export interface RealNodeEndpoints {
  /** The API server's port on loopback; relayed on the host end of the node's link. */
  readonly apiserverPort: number;
  /** The registry's port on loopback; relayed likewise, and what containerd pulls REGISTRY_HOST images from. */
  readonly registryPort: number;
  /** The loopback port the ingress controller is reached at from the host (relayed to its NodePort). */
  readonly ingressPort: number;
  readonly pauseImage: string;
}

interface CgroupRecord {
  readonly path: string;
  readonly created: readonly string[];
}

/** The comment on the node's one guard rule, so a test (and a person) can find it. */
export const EGRESS_GUARD_COMMENT = 'urumi: nothing leaves the node but to its host end';

/**
 * A real Kubernetes node beside the KWOK ones: containerd, runc and the CNI plugins from Debian, the kubelet and
 * kube-proxy from the control plane's module, kube-router's NetworkPolicy firewall. It runs in a mount and network
 * namespace of its own, held by one process, in a cgroup below the sandbox's: its mounts, sysctls, iptables rules,
 * bridge and pod network never touch the host's, and `down` takes all of them away by ending that namespace.
 */
export class RealNode {
  readonly paths: NodePaths;

  constructor(
    private readonly daemons: Daemons,
    readonly plan: NodePlan,
  ) {
    this.paths = nodePaths(plan);
  }

  /** The node's cgroup (containers below it): under this process's own, named by the node's index. */
  get cgroup(): string {
    return join(ownCgroup(), `urumi-node-${this.plan.index}`);
  }

  private get cgroupRecordFile(): string {
    return join(this.plan.dir, 'cgroups.json');
  }

  holderPid(): number | undefined {
    return this.daemons.pidOf('node-namespace');
  }

  /** Runs a command inside the node's namespaces (ip, iptables, …) and returns its output. */
  async run(command: string, args: readonly string[]): Promise<string> {
    const pid = this.holderPid();
    if (pid === undefined) throw new Error('the real node is not running');
    return (await exec('nsenter', [`--target=${pid}`, '--mount', '--net', '--', command, ...args])).stdout;
  }

  /** The IDs of the containers containerd holds for pods (of one namespace, when given). */
  async containerIds(podNamespace?: string): Promise<string[]> {
    const filter = podNamespace ? [`labels."io.kubernetes.pod.namespace"==${podNamespace}`] : [];
    const out = await this.run('ctr', [
      '-a',
      this.paths.containerdSocket,
      '-n',
      'k8s.io',
      'containers',
      'list',
      '-q',
      ...filter,
    ]);
    return out.split('\n').filter(Boolean);
  }

  async up(binaries: RealNodeBinaries, pki: Pki, endpoints: RealNodeEndpoints): Promise<void> {
    assertPreconditions();
    const started = Date.now();
    if (this.holderPid() === undefined) {
      // A node whose namespace is gone left nothing running; whatever else it left is stale.
      await this.down();
      await this.makeNamespace();
    }
    await this.writeConfigs(pki, endpoints);
    for (const component of NODE_COMPONENTS.slice(1)) {
      if (this.daemons.pidOf(component) !== undefined) continue;
      await this.daemons.start(this.specOf(component, binaries, endpoints));
      await this.waitHealthy(component);
    }
    log.step(`real node ${NODE_NAME} up at ${this.plan.nodeIp} (${formatDuration(Date.now() - started)})`);
  }

  /** Stops every node process and container, and removes the namespace, its veth, mounts and cgroups. */
  async down(): Promise<void> {
    for (const component of [...NODE_COMPONENTS].reverse()) await this.daemons.stop(component);
    if (existsSync(this.cgroupRecordFile)) {
      const record = JSON.parse(await readFile(this.cgroupRecordFile, 'utf8')) as CgroupRecord;
      // Containers (shims and their processes) outlive containerd; they all live in the node's cgroup.
      await removeCgroups(record.path, record.created);
      await rm(this.cgroupRecordFile);
    }
    // The namespace ended with its last process, and its veth pair with it; a host end left by a crash goes here.
    await exec('ip', ['link', 'delete', this.plan.hostVeth]).catch(() => undefined);
  }

  private async makeNamespace(): Promise<void> {
    // `system` holds the node's own processes, `pods` is the kubelet's cgroupRoot (it must exist beforehand).
    const created = [
      ...(await createCgroup(join(this.cgroup, 'system'))),
      ...(await createCgroup(join(this.cgroup, 'pods'))),
    ];
    await mkdir(this.plan.dir, { recursive: true });
    await writeFile(this.cgroupRecordFile, JSON.stringify({ path: this.cgroup, created } satisfies CgroupRecord));
    await this.prepareFolders();
    await this.daemons.start(
      daemonInCgroup(
        'node-namespace',
        join(this.cgroup, 'system'),
        'unshare',
        ['--mount', '--net', '--propagation', 'private', '--', SLEEP, 'infinity'],
        [SLEEP],
      ),
    );
    // Its pid is known at once, but the namespaces exist only once `unshare` has made them.
    const hostNetwork = await readlink('/proc/self/ns/net');
    await waitUntil(
      'the node namespace did not start',
      async () => {
        const pid = this.holderPid();
        return pid !== undefined && (await readlink(`/proc/${pid}/ns/net`).catch(() => hostNetwork)) !== hostNetwork;
      },
      10_000,
    );
    const pid = String(this.holderPid());
    const { hostVeth, nodeVeth, hostIp, nodeLinkIp, bridge, nodeIp, podCidr } = this.plan;
    // The link: the host end stays on the host, the other end moves into the node's namespace.
    await exec('ip', ['link', 'add', hostVeth, 'type', 'veth', 'peer', 'name', nodeVeth, 'netns', pid]);
    await writeFile(`/proc/sys/net/ipv6/conf/${hostVeth}/disable_ipv6`, '1');
    await exec('ip', ['address', 'add', `${hostIp}/30`, 'dev', hostVeth]);
    await exec('ip', ['link', 'set', hostVeth, 'up']);
    await exec('ip', ['route', 'add', podCidr, 'via', nodeLinkIp, 'dev', hostVeth]);
    await this.run('sh', ['-ec', this.namespaceSetup()]);
    log.step(`real node namespace ready (pods ${podCidr} on ${bridge}, node ${nodeIp}, host end ${hostIp})`);
  }

  /**
   * Inside the namespace: files over the host-wide sysctls the kubelet would write and over /var/log (the kubelet's
   * fixed /var/log/pods), loopback, the link, the bridge with the node address, forwarding within the namespace only,
   * bridged traffic through iptables, and the guard: a packet may leave the node for the host end's address only.
   */
  private namespaceSetup(): string {
    const { nodeVeth, bridge, nodeIp, nodeLinkIp, hostIp } = this.plan;
    const sysctlBinds = Object.keys(KUBELET_SYSCTLS).map(
      (key) => `mount --bind ${join(this.paths.sysctls, key.replace(/\//g, '.'))} /proc/sys/${key}`,
    );
    return [
      ...sysctlBinds,
      `mount --bind ${this.paths.varLog} /var/log`,
      'ip link set lo up',
      `ip address add ${nodeLinkIp}/30 dev ${nodeVeth}`,
      `ip link set ${nodeVeth} up`,
      `ip link add ${bridge} type bridge`,
      `ip address add ${nodeIp}/24 dev ${bridge}`,
      `ip link set ${bridge} up`,
      `ip route add ${SERVICE_CIDR} dev ${bridge}`,
      'sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1',
      'sysctl -qw net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1',
      `iptables -t mangle -A POSTROUTING -o ${nodeVeth} ! -d ${hostIp}/32 -m comment --comment "${EGRESS_GUARD_COMMENT}" -j DROP`,
    ].join('\n');
  }

  private async prepareFolders(): Promise<void> {
    const p = this.paths;
    for (const dir of [
      p.containerdRoot,
      p.containerdState,
      p.cniConfDir,
      p.cniDataDir,
      p.kubeletRoot,
      p.sysctls,
      p.varLog,
    ])
      await mkdir(dir, { recursive: true });
    for (const [key, value] of Object.entries(KUBELET_SYSCTLS))
      await writeFile(join(p.sysctls, key.replace(/\//g, '.')), `${value}\n`);
    // Pods resolve through the cluster DNS only: the host's resolvers are not the pods' to use.
    await writeFile(p.resolvConf, '');
  }

  private async writeConfigs(pki: Pki, endpoints: RealNodeEndpoints): Promise<void> {
    const p = this.paths;
    const server = `https://${this.plan.hostIp}:${endpoints.apiserverPort}`;
    const registryUrl = `http://${this.plan.hostIp}:${endpoints.registryPort}`;
    await writeFile(p.containerdConfig, containerdConfig(this.plan, p, registryUrl, endpoints.pauseImage));
    await writeFile(join(p.cniConfDir, '10-urumi.conflist'), cniConfig(this.plan, p));
    await writeFile(p.kubeletConfig, kubeletConfig(this.plan, p, join(this.cgroup, 'pods'), pki.caCert));
    await writeFile(p.kubeProxyConfig, kubeProxyConfig(this.plan, p));
    for (const [file, identity] of [
      [p.kubeletKubeconfig, identities.kubelet],
      [p.kubeProxyKubeconfig, identities.kubeProxy],
      [p.kubeRouterKubeconfig, identities.kubeRouter],
    ] as const) {
      await writeFile(file, await renderKubeconfig(pki, identity, server), { mode: 0o600 });
    }
  }

  /** A daemon inside the node's namespaces and cgroup. */
  private inNode(name: string, command: string, args: readonly string[]): DaemonSpec {
    const pid = this.holderPid();
    if (pid === undefined) throw new Error('the real node namespace is not running');
    return daemonInCgroup(
      name,
      join(this.cgroup, 'system'),
      'nsenter',
      [`--target=${pid}`, '--mount', '--net', '--', command, ...args],
      [command],
    );
  }

  private specOf(component: NodeComponent, binaries: RealNodeBinaries, endpoints: RealNodeEndpoints): DaemonSpec {
    const p = this.paths;
    const relay = (port: number) => ({
      name: component,
      command: 'socat',
      args: [`TCP-LISTEN:${port},bind=${this.plan.hostIp},fork,reuseaddr`, `TCP:127.0.0.1:${port}`],
    });
    switch (component) {
      case 'node-namespace':
        throw new Error('the node namespace is made by up()');
      // The API server and registry listen on loopback; pods and containerd reach them at the link's host end.
      case 'relay-apiserver':
        return relay(endpoints.apiserverPort);
      case 'relay-registry':
        return relay(endpoints.registryPort);
      // The other way: from the host's loopback to the ingress controller's NodePort on the node address.
      case 'relay-ingress':
        return {
          name: component,
          command: 'socat',
          args: [
            `TCP-LISTEN:${endpoints.ingressPort},bind=127.0.0.1,fork,reuseaddr`,
            `TCP:${this.plan.nodeIp}:${INGRESS_CONTROLLER.nodePort}`,
          ],
        };
      case 'containerd':
        return this.inNode(component, '/usr/bin/containerd', ['--config', p.containerdConfig, '--log-level', 'warn']);
      case 'kubelet':
        return this.inNode(component, binaries.kubelet, [
          `--config=${p.kubeletConfig}`,
          `--kubeconfig=${p.kubeletKubeconfig}`,
          `--root-dir=${p.kubeletRoot}`,
          `--cert-dir=${join(p.kubeletRoot, 'pki')}`,
          `--hostname-override=${NODE_NAME}`,
          `--node-ip=${this.plan.nodeIp}`,
          `--node-labels=${REAL_NODE_LABEL.key}=${REAL_NODE_LABEL.value}`,
          '--v=1',
        ]);
      case 'kube-proxy':
        return this.inNode(component, binaries.kubeProxy, [`--config=${p.kubeProxyConfig}`, '--v=1']);
      case 'kube-router':
        return this.inNode(component, binaries.kubeRouter, [
          `--kubeconfig=${p.kubeRouterKubeconfig}`,
          `--hostname-override=${NODE_NAME}`,
          '--run-firewall=true',
          '--run-router=false',
          '--run-service-proxy=false',
          '--enable-cni=false',
          '--enable-ipv6=false',
          `--health-port=${KUBE_ROUTER_HEALTH_PORT}`,
          '--metrics-port=0',
          '--v=1',
        ]);
    }
  }

  /** Each node component: its pid and whether it answers its health check. */
  async status(): Promise<{ name: NodeComponent; pid?: number; healthy: boolean; endpoint: string }[]> {
    return Promise.all(
      NODE_COMPONENTS.map(async (name) => {
        const pid = name === 'node-namespace' ? this.holderPid() : this.daemons.pidOf(name);
        const healthy = pid !== undefined && (await this.isHealthy(name));
        return { name, pid, healthy, endpoint: name.startsWith('relay') ? this.plan.hostIp : this.plan.nodeIp };
      }),
    );
  }

  private async isHealthy(component: NodeComponent): Promise<boolean> {
    const ip = this.plan.nodeIp;
    switch (component) {
      case 'node-namespace':
        return this.holderPid() !== undefined;
      case 'relay-apiserver':
      case 'relay-registry':
      case 'relay-ingress':
        return this.daemons.pidOf(component) !== undefined;
      case 'containerd':
        return existsSync(this.paths.containerdSocket);
      case 'kubelet':
        return (await get(`http://${ip}:10248/healthz`)).status === 200;
      case 'kube-proxy':
        return (await get(`http://${ip}:10256/healthz`)).status === 200;
      case 'kube-router':
        return (await get(`http://${ip}:${KUBE_ROUTER_HEALTH_PORT}/healthz`)).status === 200;
    }
  }

  private async waitHealthy(component: NodeComponent): Promise<void> {
    try {
      await waitUntil(
        `${component} did not start`,
        () => this.isHealthy(component),
        90_000,
        () => (this.daemons.pidOf(component) === undefined ? 'the process exited' : undefined),
      );
    } catch (error) {
      const tail = await this.daemons.logTail(component);
      throw new Error(`${(error as Error).message}. Its log, ${this.daemons.logFile(component)}, ends with:\n${tail}`);
    }
  }
}

const SLEEP = '/bin/sleep';
const KUBE_ROUTER_HEALTH_PORT = 20244;

/** Claims of address blocks, one folder per index naming the sandbox state folder that holds it. */
function claimsDir(): string {
  return join(dirname(cacheRoot()), 'node-claims');
}

async function claimHolder(index: number): Promise<string | undefined> {
  return readFile(join(claimsDir(), String(index), 'state-dir'), 'utf8').catch(() => undefined);
}

/**
 * Claims the lowest free address block for the sandbox in `stateDir` (a `mkdir`, atomic across concurrent sandboxes).
 * A claim whose sandbox is gone (its state no longer names that block) is stale and taken over.
 */
export async function claimNodeIndex(stateDir: string): Promise<number> {
  await mkdir(claimsDir(), { recursive: true });
  const { stdout } = await exec('ip', ['-o', 'link', 'show']);
  const linksInUse = new Set([...stdout.matchAll(/^\d+: urumi(\d+)[@:]/gm)].map((m) => Number(m[1])));
  for (let index = 0; index <= 253; index++) {
    const dir = join(claimsDir(), String(index));
    try {
      await mkdir(dir);
    } catch {
      const holder = await claimHolder(index);
      if (holder === undefined || (await stateNodeIndex(holder)) === index) continue;
      // Another claimant may take it over at the same moment: the one whose mkdir wins keeps it.
      await rm(dir, { recursive: true, force: true });
      try {
        await mkdir(dir);
      } catch {
        continue;
      }
    }
    // A node made without a claim (or by a sandbox since purged by hand) may still hold the block.
    if (linksInUse.has(index)) {
      await rm(dir, { recursive: true, force: true });
      continue;
    }
    await writeFile(join(dir, 'state-dir'), stateDir);
    return index;
  }
  throw new Error('every real-node address block (0–253) is claimed: stop other sandboxes');
}

/** Gives a block back (on `down --purge`, when the sandbox forgets its state). */
export async function releaseNodeIndex(index: number, stateDir: string): Promise<void> {
  if ((await claimHolder(index)) === stateDir)
    await rm(join(claimsDir(), String(index)), { recursive: true, force: true });
}

async function stateNodeIndex(stateDir: string): Promise<number | undefined> {
  try {
    return (JSON.parse(await readFile(join(stateDir, 'state.json'), 'utf8')) as { nodeIndex?: number }).nodeIndex;
  } catch {
    return undefined;
  }
}
