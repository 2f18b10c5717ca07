import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RealNode } from '../node/real-node';

/** The fields of a store's pods that its costs are read from. */
export interface StorePod {
  metadata: { name: string; namespace: string; uid: string; labels: Record<string, string> };
  spec: { nodeName?: string };
  status: {
    phase: string;
    conditions?: { type: string; status: string; lastTransitionTime?: string }[];
    initContainerStatuses?: ContainerStatus[];
    containerStatuses?: ContainerStatus[];
  };
}

export interface ContainerStatus {
  name: string;
  containerID?: string;
  state: {
    running?: { startedAt: string };
    terminated?: { startedAt: string; finishedAt: string; exitCode: number };
  };
}

/** Where a real store's wait to Ready went, in ms: image pulls, the setup Job's steps, the server's own start. */
export interface StoreTimings {
  /** Each image's slowest pull (pods pull at once: it is what the first pod using it waited for). */
  readonly pulls: Record<string, number>;
  readonly setup: { readonly migrate: number; readonly admin: number; readonly seed: number };
  readonly serverStartToReady: number;
}

export const componentOf = (pod: StorePod) => pod.metadata.labels['app.kubernetes.io/component'] ?? '';

/** `Successfully pulled image "x" in 1.2s (…)` → ms; Go durations as the kubelet prints them. */
function pullMs(message: string): number {
  const duration = /pulled image "[^"]+" in ([0-9.hmsµ]+)/.exec(message)?.[1] ?? '';
  let ms = 0;
  for (const [, n = '0', unit] of duration.matchAll(/([0-9.]+)(h|ms|µs|m|s)/g)) {
    ms += Number(n) * { h: 3_600_000, m: 60_000, s: 1000, ms: 1, µs: 0.001 }[unit as 'h' | 'm' | 's' | 'ms' | 'µs'];
  }
  return ms;
}

/** A terminated container's run time, from its own timestamps (second resolution). */
const ranFor = (status: ContainerStatus | undefined) => {
  const t = status?.state.terminated;
  return t ? Date.parse(t.finishedAt) - Date.parse(t.startedAt) : Number.NaN;
};

/** Reads a Ready store's timings from its pods and the kubelet's `Pulled` events in its namespace. */
export function storeTimings(pods: readonly StorePod[], pulledEvents: readonly string[]): StoreTimings {
  const pulls: Record<string, number> = {};
  for (const message of pulledEvents.filter((m) => m.startsWith('Successfully pulled'))) {
    const image = /pulled image "([^"]+)"/.exec(message)?.[1] ?? '';
    pulls[image] = Math.max(pulls[image] ?? 0, pullMs(message));
  }
  const setup = pods.find((p) => componentOf(p) === 'setup');
  const step = (name: string) =>
    ranFor(
      [...(setup?.status.initContainerStatuses ?? []), ...(setup?.status.containerStatuses ?? [])].find(
        (s) => s.name === name,
      ),
    );
  const server = pods.find((p) => componentOf(p) === 'server');
  const started = server?.status.containerStatuses?.[0]?.state.running?.startedAt ?? '';
  const ready = server?.status.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime ?? '';
  return {
    pulls,
    setup: { migrate: step('migrate'), admin: step('admin'), seed: step('seed') },
    serverStartToReady: Date.parse(ready) - Date.parse(started),
  };
}

/** The memory cgroup folder of a container on the real node (cgroupfs driver: named by its ID, below the node's). */
function memoryCgroupOf(node: RealNode, containerId: string): string | undefined {
  const walk = (dir: string, depth: number): string | undefined => {
    if (depth > 6 || !existsSync(dir)) return undefined;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      if (entry.name === containerId) return join(dir, entry.name);
      const found = walk(join(dir, entry.name), depth + 1);
      if (found) return found;
    }
    return undefined;
  };
  return walk(join('/sys/fs/cgroup/memory', node.cgroup), 0);
}

/** Each running container's resident memory and cgroup usage, in bytes, keyed `<component>/<container>`. */
export function storeMemory(node: RealNode, pods: readonly StorePod[]): Record<string, { rss: number; usage: number }> {
  const memory: Record<string, { rss: number; usage: number }> = {};
  for (const pod of pods) {
    for (const status of pod.status.containerStatuses ?? []) {
      const id = status.containerID?.replace('containerd://', '') ?? '';
      const dir = id && !status.state.terminated ? memoryCgroupOf(node, id) : undefined;
      if (!dir) continue;
      const stat = readFileSync(join(dir, 'memory.stat'), 'utf8');
      memory[`${componentOf(pod)}/${status.name}`] = {
        rss: Number(/^total_rss (\d+)$/m.exec(stat)?.[1] ?? 0),
        usage: Number(readFileSync(join(dir, 'memory.usage_in_bytes'), 'utf8')),
      };
    }
  }
  return memory;
}
