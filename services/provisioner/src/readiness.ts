import type { V1Deployment, V1Job, V1StatefulSet } from '@kubernetes/client-node';

export interface Workloads {
  readonly deployments: readonly V1Deployment[];
  readonly statefulSets: readonly V1StatefulSet[];
  readonly jobs: readonly V1Job[];
}

export type Readiness =
  | { readonly state: 'ready' }
  | {
      readonly state: 'pending';
      /** What provisioning waits for: `Deployment web (0/1 available)`. */
      readonly waitingFor: readonly string[];
      /** What a Ready store lacks, for its Degraded condition: `Deployment web: 1 of 1 replicas unavailable`. */
      readonly unavailable: readonly string[];
    }
  | { readonly state: 'failed'; readonly reason: string; readonly message: string };

/** A Deployment's or StatefulSet's replicas: how many it wants, how many are up, and how that reads. */
interface Replicas {
  readonly workload: string;
  readonly want: number;
  readonly up: number;
  /** Its controller has seen its latest spec. */
  readonly current: boolean;
  readonly words: readonly [up: string, down: string];
}

/** Whether the engine's workloads are up: every Deployment available, StatefulSet ready, Job complete. */
export function readinessOf({ deployments, statefulSets, jobs }: Workloads): Readiness {
  for (const job of jobs) {
    const failed = job.status?.conditions?.find((c) => c.type === 'Failed' && c.status === 'True');
    if (failed) {
      return {
        state: 'failed',
        reason: 'SetupJobFailed',
        message: `Job ${job.metadata?.name} failed (${failed.reason ?? 'unknown'}: ${failed.message ?? 'no message'}); read its logs with kubectl logs job/${job.metadata?.name} -n ${job.metadata?.namespace}`,
      };
    }
  }
  const waitingFor: string[] = [];
  const unavailable: string[] = [];
  const replicated: Replicas[] = [
    ...deployments.map((d) => ({
      workload: `Deployment ${d.metadata?.name}`,
      want: d.spec?.replicas ?? 1,
      up: d.status?.availableReplicas ?? 0,
      current: rolledOut(d),
      words: ['available', 'unavailable'] as const,
    })),
    ...statefulSets.map((s) => ({
      workload: `StatefulSet ${s.metadata?.name}`,
      want: s.spec?.replicas ?? 1,
      up: s.status?.readyReplicas ?? 0,
      current: rolledOut(s),
      words: ['ready', 'not ready'] as const,
    })),
  ];
  for (const { workload, want, up, current, words } of replicated) {
    if (current && up >= want) continue;
    waitingFor.push(`${workload} (${up}/${want} ${words[0]})`);
    unavailable.push(
      up < want
        ? `${workload}: ${want - up} of ${want} replicas ${words[1]}`
        : `${workload}: its latest spec is not rolled out yet`,
    );
  }
  for (const job of jobs) {
    if (!job.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True')) {
      waitingFor.push(`Job ${job.metadata?.name} (not complete)`);
      unavailable.push(`Job ${job.metadata?.name}: not complete`);
    }
  }
  if (deployments.length + statefulSets.length === 0) {
    waitingFor.push('the engine chart created no workloads yet');
    unavailable.push('the engine chart created no workloads');
  }
  return waitingFor.length ? { state: 'pending', waitingFor, unavailable } : { state: 'ready' };
}

function rolledOut(workload: V1Deployment | V1StatefulSet): boolean {
  return (workload.status?.observedGeneration ?? 0) >= (workload.metadata?.generation ?? 0);
}
