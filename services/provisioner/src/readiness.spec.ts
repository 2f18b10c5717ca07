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
    });
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
