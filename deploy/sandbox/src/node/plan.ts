import { join } from 'node:path';

/** The cluster's Service range (the API server's and controller-manager's `--service-cluster-ip-range`). */
export const SERVICE_CIDR = '10.96.0.0/16';
/** The `kubernetes` Service and the cluster DNS Service, at their conventional addresses in that range. */
export const KUBERNETES_SERVICE_IP = '10.96.0.1';
export const CLUSTER_DNS_IP = '10.96.0.10';
export const CLUSTER_DOMAIN = 'cluster.local';
export const NODE_NAME = 'urumi-node';
/** The real node's label and taint: only pods that ask for a real node (selector + toleration) land there. */
export const REAL_NODE_LABEL = { key: 'urumi.dev/node', value: 'real' } as const;
export const REAL_NODE_TAINT = { key: 'urumi.dev/node', value: 'real', effect: 'NoSchedule' } as const;
/** Images the node pulls are named for this registry host; containerd maps it to the sandbox's registry. */
export const REGISTRY_HOST = 'registry.urumi.test';

/**
 * Where one sandbox's real node lives. The node runs in a network namespace of its own, joined to the host by one
 * veth pair: inside, a bridge with the node address and the pods; outside, the host end, which the API server,
 * registry and ingress relays listen on. `index` (0–253) keeps the address blocks of concurrent sandboxes apart.
 */
export interface NodePlan {
  readonly index: number;
  /** Pods and the node address (the bridge's): 10.250.<index>.0/24. */
  readonly podCidr: string;
  readonly nodeIp: string;
  /** The veth link: the host end and the node end, 10.251.<index>.0/30. */
  readonly hostIp: string;
  readonly nodeLinkIp: string;
  /** Interface names: the host end (unique on the host), the node end and the bridge (inside the namespace). */
  readonly hostVeth: string;
  readonly nodeVeth: string;
  readonly bridge: string;
  /** The first address host-local IPAM hands out (below it: the node and room for fixed addresses). */
  readonly podRangeStart: string;
  readonly dir: string;
}

export function nodePlan(index: number, stateDir: string): NodePlan {
  if (!Number.isInteger(index) || index < 0 || index > 253) throw new Error(`node index ${index} is not in 0–253`);
  return {
    index,
    podCidr: `10.250.${index}.0/24`,
    nodeIp: `10.250.${index}.1`,
    podRangeStart: `10.250.${index}.10`,
    hostIp: `10.251.${index}.1`,
    nodeLinkIp: `10.251.${index}.2`,
    hostVeth: `urumi${index}`,
    nodeVeth: 'eth0',
    bridge: 'cbr0',
    dir: join(stateDir, 'node'),
  };
}
