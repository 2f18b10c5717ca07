import { readinessOf } from './readiness';

const deployment = (available: number, replicas = 1) => ({
  metadata: { name: 'web', generation: 1 },
  spec: { replicas } as never,
  status: { observedGeneration: 1, availableReplicas: available },
});
const job = (type: 'Complete' | 'Failed' | undefined) => ({
  metadata: { name: 'setup-1', namespace: 'store-x' },
  status: { conditions: type ? [{ type, status: 'True', reason: 'BackoffLimitExceeded', message: 'boom' }] : [] },
});

describe(readinessOf.name, () => {
  it('is ready when every Deployment is available and every Job complete', () => {
    expect(readinessOf({ deployments: [deployment(1)], statefulSets: [], jobs: [job('Complete')] })).toEqual({
      state: 'ready',
    });
  });

  it('says what it waits for', () => {
    const result = readinessOf({ deployments: [deployment(0)], statefulSets: [], jobs: [job(undefined)] });
    expect(result).toEqual({
      state: 'pending',
      waitingFor: ['Deployment web (0/1 available)', 'Job setup-1 (not complete)'],
      unavailable: ['Deployment web: 1 of 1 replicas unavailable', 'Job setup-1: not complete'],
    });
  });

  it('says how many replicas each workload misses', () => {
    const statefulSet = {
      metadata: { name: 'db', generation: 2 },
      spec: { replicas: 3 } as never,
      status: { observedGeneration: 2, readyReplicas: 1, replicas: 3 },
    };
    const result = readinessOf({ deployments: [deployment(1, 2)], statefulSets: [statefulSet], jobs: [] });

    expect(result.state === 'pending' && result.unavailable).toEqual([
      'Deployment web: 1 of 2 replicas unavailable',
      'StatefulSet db: 2 of 3 replicas not ready',
    ]);
  });

  it('is not ready while a workload has a spec its controller has not rolled out', () => {
    const rolling = { ...deployment(1), metadata: { name: 'web', generation: 2 } };
    const result = readinessOf({ deployments: [rolling], statefulSets: [], jobs: [] });

    expect(result.state === 'pending' && result.unavailable).toEqual([
      'Deployment web: its latest spec is not rolled out yet',
    ]);
  });

  it('fails with an actionable message when the setup Job failed', () => {
    const result = readinessOf({ deployments: [deployment(1)], statefulSets: [], jobs: [job('Failed')] });
    expect(result).toMatchObject({ state: 'failed', reason: 'SetupJobFailed' });
    expect(result.state === 'failed' && result.message).toContain('kubectl logs job/setup-1 -n store-x');
  });

  it('is not ready before the chart made any workload', () => {
    expect(readinessOf({ deployments: [], statefulSets: [], jobs: [] }).state).toBe('pending');
  });
});
