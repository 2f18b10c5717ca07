import { join } from 'node:path';
import { log } from '../log';
import { processesIn } from '../node/cgroups';
import { NODE_COMPONENTS, RealNode } from '../node/real-node';
import { REAL_NODE_LABEL, REAL_NODE_TAINT } from '../node/plan';
import { repoRoot } from '../paths';
import { Sandbox } from '../sandbox';
import { benchMedusaStores } from './medusa-stores';
import { percentile, publishResults, residentMegabytes, round } from './stats';

const POD_SAMPLES = 5;

interface PodStatus {
  metadata: { uid: string; creationTimestamp: string };
  status: { qosClass: string; conditions?: { type: string; status: string; lastTransitionTime: string }[] };
}

/** Resident memory of every process in a pod (its cgroup on the real node), in MB. */
async function podResidentMegabytes(sandbox: Sandbox, node: RealNode, namespace: string, selector: string) {
  const { items } = JSON.parse(
    await sandbox.kubectl(['get', 'pods', '-n', namespace, '-l', selector, '-o', 'json']),
  ) as {
    items: PodStatus[];
  };
  let total = 0;
  for (const pod of items) {
    const qos = pod.status.qosClass.toLowerCase();
    const dir = join(node.cgroup, 'pods', 'kubepods', ...(qos === 'guaranteed' ? [] : [qos]), `pod${pod.metadata.uid}`);
    for (const pid of await processesIn(dir)) total += residentMegabytes(pid) || 0;
  }
  return round(total);
}

/** Seconds from a pod's creation to its Ready condition, for one small pod on the real node. */
async function podToReady(sandbox: Sandbox, image: string, name: string): Promise<number> {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: {
      nodeSelector: { [REAL_NODE_LABEL.key]: REAL_NODE_LABEL.value },
      tolerations: [{ ...REAL_NODE_TAINT, operator: 'Equal' }],
      containers: [{ name: 'sleep', image, command: ['sleep', 'infinity'] }],
    },
  };
  await sandbox.kubectl(['apply', '-f', '-'], JSON.stringify(pod));
  await sandbox.kubectl(['wait', '--for=condition=Ready', `pod/${name}`, '--timeout=120s']);
  const status = JSON.parse(await sandbox.kubectl(['get', 'pod', name, '-o', 'json'])) as PodStatus;
  await sandbox.kubectl(['delete', 'pod', name, '--wait=false']);
  const ready = status.status.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime ?? '';
  return (Date.parse(ready) - Date.parse(status.metadata.creationTimestamp)) / 1000;
}

/**
 * `npm run bench:node`: the real node's cost on this machine — `up` of a sandbox whose binaries and images are
 * cached, then `up` again after `down` (warm); the resident memory of the node's components and add-ons when idle;
 * pod creation to Ready; real Medusa stores through the platform (benchMedusaStores: one, then three at once, the
 * order flow, a store's memory). Prints and writes JSON (.sandbox/benchmarks/real-node.json).
 */
async function main(): Promise<void> {
  const sandbox = new Sandbox({ stateDir: join(repoRoot, '.sandbox', 'bench-node') });
  const timed = async (work: () => Promise<void>) => {
    const started = performance.now();
    await work();
    return round((performance.now() - started) / 1000);
  };
  await sandbox.down({ purge: true });
  const firstUpSeconds = await timed(() => sandbox.up());
  await sandbox.down();
  const warmUpSeconds = await timed(() => sandbox.up());
  try {
    const node = await sandbox.realNode();
    const daemons = Object.fromEntries(
      (await node.status()).filter((c) => c.name !== 'node-namespace').map((c) => [c.name, residentMegabytes(c.pid)]),
    );
    const addons = {
      coredns: await podResidentMegabytes(sandbox, node, 'kube-system', 'k8s-app=kube-dns'),
      traefik: await podResidentMegabytes(sandbox, node, 'traefik', 'app.kubernetes.io/name=traefik'),
    };
    const { node22 } = await sandbox.nodeImages();
    const podSeconds: number[] = [];
    for (let i = 0; i < POD_SAMPLES; i++) podSeconds.push(await podToReady(sandbox, node22, `bench-pod-${i}`));
    const results = {
      upSeconds: { firstWithCachedImages: firstUpSeconds, warm: warmUpSeconds },
      idleResidentMegabytes: {
        ...daemons,
        ...addons,
        total: round([...Object.values(daemons), ...Object.values(addons)].reduce((a, b) => a + (b || 0), 0)),
      },
      podCreateToReadySeconds: { p50: percentile(podSeconds, 50), max: Math.max(...podSeconds), samples: podSeconds },
      medusaStores: await benchMedusaStores(sandbox, node),
      components: NODE_COMPONENTS,
    };
    await publishResults('real-node', results);
  } finally {
    log.step('stopping the benchmark sandbox');
    await sandbox.down({ purge: true });
  }
}

main().catch((error: unknown) => {
  console.error(`[bench] error: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
