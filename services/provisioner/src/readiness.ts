import type { V1Deployment, V1Job, V1StatefulSet } from '@kubernetes/client-node';

export interface Workloads {
  readonly deployments: readonly V1Deployment[];
  readonly statefulSets: readonly V1StatefulSet[];
  readonly jobs: readonly V1Job[];
}

export type Readiness =
  | { readonly state: 'ready' }
  | { readonly state: 'pending'; readonly waitingFor: readonly string[] }
  | { readonly state: 'failed'; readonly reason: string; readonly message: string };

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
  for (const d of deployments) {
    const want = d.spec?.replicas ?? 1;
    const current = (d.status?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0);
    const available = d.status?.availableReplicas ?? 0;
    if (!current || available < want)
      waitingFor.push(`Deployment ${d.metadata?.name} (${available}/${want} available)`);
  }
  for (const s of statefulSets) {
    const want = s.spec?.replicas ?? 1;
    const current = (s.status?.observedGeneration ?? 0) >= (s.metadata?.generation ?? 0);
    const ready = s.status?.readyReplicas ?? 0;
    if (!current || ready < want) waitingFor.push(`StatefulSet ${s.metadata?.name} (${ready}/${want} ready)`);
  }
  for (const job of jobs) {
    if (!job.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True')) {
      waitingFor.push(`Job ${job.metadata?.name} (not complete)`);
    }
  }
  if (deployments.length + statefulSets.length === 0) waitingFor.push('the engine chart created no workloads yet');
  return waitingFor.length ? { state: 'pending', waitingFor } : { state: 'ready' };
}
