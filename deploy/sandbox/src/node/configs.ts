import { join } from 'node:path';
import { CNI_BIN_DIR } from './preconditions';
import {
  CLUSTER_DNS_IP,
  CLUSTER_DOMAIN,
  NODE_NAME,
  NodePlan,
  REAL_NODE_TAINT,
  REGISTRY_HOST,
  SERVICE_CIDR,
} from './plan';

/** Paths of the node's own state, all under its folder (nothing under /var/lib, /etc or /opt of the host). */
export function nodePaths(plan: NodePlan) {
  const dir = plan.dir;
  return {
    containerdConfig: join(dir, 'containerd.toml'),
    containerdRoot: join(dir, 'containerd', 'root'),
    containerdState: join(dir, 'containerd', 'state'),
    containerdSocket: join(dir, 'containerd', 'containerd.sock'),
    cniConfDir: join(dir, 'cni', 'net.d'),
    cniDataDir: join(dir, 'cni', 'ipam'),
    cniCacheDir: join(dir, 'cni', 'cache'),
    kubeletRoot: join(dir, 'kubelet'),
    kubeletConfig: join(dir, 'kubelet.yaml'),
    kubeletKubeconfig: join(dir, 'kubelet.kubeconfig'),
    kubeProxyConfig: join(dir, 'kube-proxy.yaml'),
    kubeProxyKubeconfig: join(dir, 'kube-proxy.kubeconfig'),
    kubeRouterKubeconfig: join(dir, 'kube-router.kubeconfig'),
    resolvConf: join(dir, 'resolv.conf'),
    sysctls: join(dir, 'sysctl'),
    varLog: join(dir, 'log'),
  };
}
export type NodePaths = ReturnType<typeof nodePaths>;

/**
 * containerd 1.6 (Debian's) for the CRI: its own root, state and socket; runc's state under it; pod network
 * namespaces under its state (inside the node's mount namespace); oom_score_adj never below its own (root here lacks
 * CAP_SYS_RESOURCE, FACTS.md); images named for REGISTRY_HOST pulled from the sandbox's registry over plain http.
 */
export function containerdConfig(plan: NodePlan, paths: NodePaths, registryUrl: string, pauseImage: string): string {
  return `version = 2
root = "${paths.containerdRoot}"
state = "${paths.containerdState}"
disabled_plugins = [
  "io.containerd.internal.v1.opt",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp",
]

[grpc]
  address = "${paths.containerdSocket}"

[ttrpc]
  address = "${paths.containerdSocket}.ttrpc"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${pauseImage}"
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  enable_unprivileged_ports = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "/usr/sbin/runc"
        Root = "${join(paths.containerdState, 'runc')}"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "${CNI_BIN_DIR}"
    conf_dir = "${paths.cniConfDir}"
    max_conf_num = 1
  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."${REGISTRY_HOST}"]
    endpoint = ["${registryUrl}"]
`;
}

/**
 * The pod network: the node's bridge (made beforehand, with the node address on it), no gateway and no masquerade
 * from the plugin, host-local IPAM with its own data folder, and routes for the pod and Service ranges only.
 */
export function cniConfig(plan: NodePlan, paths: NodePaths): string {
  return JSON.stringify(
    {
      cniVersion: '1.0.0',
      name: 'urumi-pods',
      plugins: [
        {
          type: 'bridge',
          bridge: plan.bridge,
          isGateway: false,
          isDefaultGateway: false,
          ipMasq: false,
          hairpinMode: true,
          ipam: {
            type: 'host-local',
            dataDir: paths.cniDataDir,
            ranges: [[{ subnet: plan.podCidr, rangeStart: plan.podRangeStart, gateway: plan.nodeIp }]],
            routes: [{ dst: SERVICE_CIDR, gw: plan.nodeIp }],
          },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    },
    null,
    2,
  );
}

export function kubeletConfig(plan: NodePlan, paths: NodePaths, cgroupRoot: string, caFile: string): string {
  return `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# This machine is cgroup v1 (hybrid); the kubelet still runs there with a deprecation warning.
failCgroupV1: false
cgroupDriver: cgroupfs
# Every pod's cgroup below the sandbox's own (the machine owns the ones above it).
cgroupRoot: ${cgroupRoot}
cgroupsPerQOS: true
enforceNodeAllocatable: [pods]
containerRuntimeEndpoint: unix://${paths.containerdSocket}
address: ${plan.nodeIp}
port: 10250
readOnlyPort: 0
healthzBindAddress: ${plan.nodeIp}
healthzPort: 10248
authentication:
  anonymous: { enabled: false }
  webhook: { enabled: true }
  x509: { clientCAFile: ${caFile} }
authorization:
  mode: Webhook
clusterDNS: [${CLUSTER_DNS_IP}]
clusterDomain: ${CLUSTER_DOMAIN}
resolvConf: ${paths.resolvConf}
registerNode: true
registerWithTaints:
  - { key: ${REAL_NODE_TAINT.key}, value: ${REAL_NODE_TAINT.value}, effect: ${REAL_NODE_TAINT.effect} }
podCIDR: ${plan.podCidr}
maxPods: 110
failSwapOn: false
serializeImagePulls: false
# The sandbox shares a disk with its machine: evict only when it is nearly full.
evictionHard: { memory.available: 100Mi, nodefs.available: 2%, imagefs.available: 2% }
imageGCHighThresholdPercent: 98
imageGCLowThresholdPercent: 95
# A disposable node: do not wait for graceful node shutdown hooks the host never sends.
shutdownGracePeriod: 0s
`;
}

/** kube-proxy in iptables mode; it leaves host-wide conntrack sysctls alone and serves NodePorts on the node address only. */
export function kubeProxyConfig(plan: NodePlan, paths: NodePaths): string {
  return `apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: ${paths.kubeProxyKubeconfig}
mode: iptables
hostnameOverride: ${NODE_NAME}
bindAddress: ${plan.nodeIp}
clusterCIDR: ${plan.podCidr}
healthzBindAddress: ${plan.nodeIp}:10256
metricsBindAddress: 127.0.0.1:10249
nodePortAddresses: [${plan.nodeIp}/32]
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
iptables:
  localhostNodePorts: false
`;
}

/**
 * Host-wide sysctls the kubelet would rewrite (vm.overcommit_memory, kernel.panic, …): inside the node's mount
 * namespace each /proc/sys file is covered by a file already holding the value the kubelet wants, so it reads what it
 * expects and the host keeps its own.
 */
export const KUBELET_SYSCTLS: Readonly<Record<string, string>> = {
  'vm/overcommit_memory': '1',
  'vm/panic_on_oom': '0',
  'kernel/panic': '10',
  'kernel/panic_on_oops': '1',
  'kernel/keys/root_maxkeys': '1000000',
  'kernel/keys/root_maxbytes': '25000000',
};
