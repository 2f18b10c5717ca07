import type { Store, StoreCondition } from '@urumi/kube';
import { withCondition } from '@urumi/kube';
import { createHash } from 'node:crypto';
import type { Readiness } from './readiness';

/** Why a Ready store is not serving as it should, for its Degraded condition. */
export interface Problem {
  readonly reason: string;
  readonly message: string;
}

/** What is wrong with a Ready store, if anything: workloads deleted by hand, or workloads short of replicas. */
export function problemOf(missing: readonly string[], readiness: Readiness): Problem | undefined {
  if (missing.length) {
    return { reason: 'WorkloadMissing', message: `${missing.join(', ')} deleted; reinstalled the engine chart` };
  }
  if (readiness.state === 'pending')
    return { reason: 'WorkloadUnavailable', message: readiness.unavailable.join('; ') };
  if (readiness.state === 'failed') return { reason: readiness.reason, message: readiness.message };
  return undefined;
}

/** A Ready store's health in its conditions: Degraded with the reason while a problem lasts, Ready again after. */
export function withHealth(store: Store, problem: Problem | undefined, url: string, now: Date): Store {
  if (!problem && !isDegraded(store)) return store;
  const observedGeneration = store.metadata.generation;
  const ready = problem
    ? { status: 'False' as const, reason: problem.reason, message: problem.message }
    : { status: 'True' as const, reason: 'StoreReady', message: `serving at ${url}` };
  const degraded = problem
    ? { status: 'True' as const, reason: problem.reason, message: problem.message }
    : { status: 'False' as const, reason: 'AsExpected', message: '' };
  let conditions = withCondition(store.status?.conditions, { type: 'Ready', observedGeneration, ...ready }, now);
  conditions = withCondition(conditions, { type: 'Degraded', observedGeneration, ...degraded }, now);
  return { ...store, status: { ...store.status, conditions } };
}

/**
 * When a Ready store's health changed from `before` to `after` (its Degraded condition turned, or now says another
 * thing), what tells this change apart from any other — so each one is announced once, and a store that degrades
 * again later is announced again; undefined when nothing changed.
 */
export function healthChange(before: Store, after: Store): string | undefined {
  const was = degradedCondition(before);
  const is = degradedCondition(after);
  if (!is || (was && was.status === is.status && was.reason === is.reason && was.message === is.message)) {
    return undefined;
  }
  const said = [is.status, is.reason, is.message, is.lastTransitionTime].join('\n');
  return createHash('sha256').update(said).digest('hex').slice(0, 12);
}

export function isDegraded(store: Store): boolean {
  return degradedCondition(store)?.status === 'True';
}

function degradedCondition(store: Store): StoreCondition | undefined {
  return store.status?.conditions?.find((c) => c.type === 'Degraded');
}
