import { LeaderTerms } from './leader-terms';

const line = (instance: string, second: number, msg: string, store?: string) =>
  `[${instance}] ${JSON.stringify({ level: 'info', time: new Date(Date.UTC(2026, 11, 4, 0, 0, second)).toISOString(), msg, store })}`;

function read(lines: string[]): LeaderTerms {
  const terms = new LeaderTerms();
  for (const l of lines) terms.observe(l);
  return terms;
}

describe('LeaderTerms', () => {
  it('passes a handover: the old leader writes nothing once the new one began', () => {
    const terms = read([
      line('provisioner', 0, 'Started leading'),
      line('provisioner', 1, 'Installed engine chart', 'a'),
      line('provisioner-1', 9, 'Started leading'),
      line('provisioner-1', 10, 'Installed engine chart', 'b'),
      // The stalled replica comes back, learns it lost the Lease, and leads again only after the other is killed.
      line('provisioner', 11, 'Stopped leading'),
      line('provisioner', 20, 'Started leading'),
      line('provisioner', 21, 'Installed engine chart', 'c'),
    ]);
    expect(terms.violations()).toEqual([]);
    expect(terms.terms()).toEqual({ provisioner: 3 });
  });

  it('catches a replica that writes after another began a newer term, whatever order the lines arrive in', () => {
    const terms = read([
      line('cleanup-1', 9, 'Started leading'),
      line('cleanup', 12, 'Deleted Namespace', 'gone'),
      line('cleanup', 0, 'Started leading'),
    ]);
    expect(terms.violations()).toEqual([
      {
        invariant: 'two replicas never act on one store at once',
        detail:
          'cleanup logged "Deleted Namespace" for gone at 2026-12-04T00:00:12.000Z, while cleanup-1 led since 2026-12-04T00:00:09.000Z',
      },
    ]);
  });

  it('catches two replicas that each act as the only one (leader election off), listing the first 20 of the older replica', () => {
    const lines = [
      line('provisioner', 0, 'Leader election off: acting as the only replica'),
      line('provisioner-1', 1, 'Leader election off: acting as the only replica'),
    ];
    for (let i = 0; i < 50; i++)
      lines.push(line(i % 2 ? 'provisioner-1' : 'provisioner', 2 + i, 'Installed engine chart'));
    const violations = read(lines).violations();
    expect(violations).toHaveLength(21);
    expect(violations[20]?.detail).toBe('and 5 more provisioner writes by a replica that did not lead');
  });

  it('ignores other services, other messages, lines that are not JSON and a tie at the same millisecond', () => {
    const terms = read([
      line('provisioner', 0, 'Started leading'),
      line('gateway-1', 1, 'Installed engine chart'),
      line('provisioner-1', 2, 'Reconcile failed, will retry'),
      '[provisioner-1] helm: Error: another operation is in progress',
      line('provisioner-1', 3, 'Started leading'),
      line('provisioner', 3, 'Installed engine chart'),
    ]);
    expect(terms.violations()).toEqual([]);
  });
});
