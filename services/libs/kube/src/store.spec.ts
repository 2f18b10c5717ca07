import { withCondition } from './store';

describe(withCondition.name, () => {
  const t0 = new Date('2026-01-01T00:00:00Z');
  const t1 = new Date('2026-01-01T00:01:00Z');
  const ready = (status: 'True' | 'False', reason = 'R') => ({ type: 'Ready' as const, status, reason, message: 'm' });

  it('moves lastTransitionTime only when the status flips', () => {
    const first = withCondition(undefined, ready('False', 'Provisioning'), t0);
    const same = withCondition(first, ready('False', 'WaitingForWorkload'), t1);
    expect(same[0]).toMatchObject({ reason: 'WaitingForWorkload', lastTransitionTime: t0.toISOString() });
    const flipped = withCondition(same, ready('True'), t1);
    expect(flipped[0]?.lastTransitionTime).toBe(t1.toISOString());
  });

  it('keeps other conditions and does not change its input', () => {
    const before = withCondition(
      undefined,
      { type: 'Degraded', status: 'False', reason: 'AsExpected', message: '' },
      t0,
    );
    const after = withCondition(before, ready('True'), t1);
    expect(after.map((c) => c.type)).toEqual(['Degraded', 'Ready']);
    expect(before).toHaveLength(1);
  });
});
