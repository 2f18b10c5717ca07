import { plans } from './plans';

describe('plans', () => {
  it('scale compute and storage, not object counts', () => {
    expect(plans.medium.quota).toMatchObject({ 'requests.cpu': '2', 'limits.memory': '8Gi', pods: '10' });
    expect(plans.large.quota).toMatchObject({ 'requests.memory': '8Gi', 'requests.storage': '40Gi', secrets: '10' });
    expect(plans.large.maxPvc).toBe('20Gi');
  });
});
