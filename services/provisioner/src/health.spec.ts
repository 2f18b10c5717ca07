import type { Store, StoreCondition } from '@urumi/kube';
import { healthChange, isDegraded, problemOf, withHealth } from './health';

const URL = 'http://shop.127.0.0.1.nip.io';
const at = (minute: number) => new Date(Date.UTC(2026, 10, 27, 10, minute));

/** A Ready store as the provisioner leaves it when it reaches Ready at minute 0. */
function aReadyStore(): Store {
  const since = at(0).toISOString();
  const conditions: StoreCondition[] = [
    { type: 'Ready', status: 'True', reason: 'StoreReady', message: `serving at ${URL}`, lastTransitionTime: since },
    { type: 'Progressing', status: 'False', reason: 'StoreReady', message: '', lastTransitionTime: since },
    { type: 'Degraded', status: 'False', reason: 'AsExpected', message: '', lastTransitionTime: since },
  ];
  return {
    apiVersion: 'urumi.dev/v1',
    kind: 'Store',
    metadata: { name: 'shop', generation: 1 },
    spec: { storeId: 's-1', engine: 'medusa', owner: 'alice', domain: 'shop.127.0.0.1.nip.io' },
    status: { phase: 'Ready', conditions },
  };
}

const unavailable = {
  state: 'pending',
  waitingFor: [],
  unavailable: ['Deployment store-server: 1 of 1 replicas unavailable'],
} as const;
const conditionsOf = (store: Store) =>
  Object.fromEntries((store.status?.conditions ?? []).map((c) => [c.type, [c.status, c.reason, c.message]]));

describe(problemOf.name, () => {
  it('names the workloads short of replicas, and how many they miss', () => {
    expect(problemOf([], unavailable)).toEqual({
      reason: 'WorkloadUnavailable',
      message: 'Deployment store-server: 1 of 1 replicas unavailable',
    });
  });

  it('names a workload deleted by hand first', () => {
    expect(problemOf(['Deployment store-server'], unavailable)).toEqual({
      reason: 'WorkloadMissing',
      message: 'Deployment store-server deleted; reinstalled the engine chart',
    });
  });

  it('finds nothing wrong with a store whose workloads are ready', () => {
    expect(problemOf([], { state: 'ready' })).toBeUndefined();
  });
});

describe(withHealth.name, () => {
  it('turns a Ready store Degraded with the reason, then Ready again', () => {
    const problem = problemOf([], unavailable);
    const degraded = withHealth(aReadyStore(), problem, URL, at(5));

    expect(conditionsOf(degraded)).toMatchObject({
      Ready: ['False', 'WorkloadUnavailable', problem?.message],
      Degraded: ['True', 'WorkloadUnavailable', problem?.message],
    });
    expect(isDegraded(degraded)).toBe(true);

    const recovered = withHealth(degraded, undefined, URL, at(7));
    expect(conditionsOf(recovered)).toMatchObject({
      Ready: ['True', 'StoreReady', `serving at ${URL}`],
      Degraded: ['False', 'AsExpected', ''],
    });
    expect(recovered.status?.conditions?.find((c) => c.type === 'Degraded')?.lastTransitionTime).toBe(
      at(7).toISOString(),
    );
    expect(isDegraded(recovered)).toBe(false);
  });

  it('leaves a healthy store as it is', () => {
    const store = aReadyStore();

    expect(withHealth(store, undefined, URL, at(5))).toBe(store);
  });
});

describe(healthChange.name, () => {
  it('tells each turn apart, so a store that degrades again is announced again', () => {
    const problem = problemOf([], unavailable);
    const healthy = aReadyStore();
    const degraded = withHealth(healthy, problem, URL, at(5));
    const recovered = withHealth(degraded, undefined, URL, at(7));
    const again = withHealth(recovered, problem, URL, at(9));

    const changes = [
      healthChange(healthy, degraded),
      healthChange(degraded, recovered),
      healthChange(recovered, again),
    ];
    expect(changes).toEqual([expect.any(String), expect.any(String), expect.any(String)]);
    expect(new Set(changes).size).toBe(3);
  });

  it('is the same for the same change, so announcing it twice stores it once', () => {
    const problem = problemOf([], unavailable);
    const degraded = withHealth(aReadyStore(), problem, URL, at(5));

    expect(healthChange(aReadyStore(), degraded)).toBe(healthChange(aReadyStore(), degraded));
  });

  it('is a change when the reason says something new while the store stays Degraded', () => {
    const degraded = withHealth(aReadyStore(), problemOf([], unavailable), URL, at(5));
    const missing = withHealth(degraded, problemOf(['Deployment store-server'], unavailable), URL, at(6));

    expect(healthChange(degraded, missing)).toEqual(expect.any(String));
  });

  it('is no change while the store stays as it was', () => {
    const problem = problemOf([], unavailable);
    const degraded = withHealth(aReadyStore(), problem, URL, at(5));

    expect(healthChange(degraded, withHealth(degraded, problem, URL, at(6)))).toBeUndefined();
    expect(healthChange(aReadyStore(), withHealth(aReadyStore(), undefined, URL, at(6)))).toBeUndefined();
  });
});
