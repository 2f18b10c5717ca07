import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FAULT_KINDS } from '../src/chaos/faults';
import { runChaos } from '../src/chaos/run';
import { scratchRoot, testSandbox } from '../src/testing/test-sandbox';

jest.setTimeout(30 * 60_000);

/** The seed of the short run in `npm test`: fixed, so a failure here is the same run again on every machine. */
const SEED = 20261202;

/**
 * `npm run chaos` in small: two replicas of every service, three NATS servers, every kind of fault at least once
 * while three tenants create and delete stores; then every invariant must hold.
 */
describe('a short chaos run with a fixed seed', () => {
  it('loses, duplicates and leaves half done nothing it accepted', async () => {
    const report = await runChaos(testSandbox(), {
      lifecycles: 18,
      seed: SEED,
      tenants: 3,
      everyKindFirst: true,
      dir: join(scratchRoot(), 'chaos'),
      stepTimeoutMs: 180_000,
    });
    console.log(JSON.stringify({ ...report, files: undefined }, null, 2));

    if (!report.passed) {
      const events = (await readFile(report.files.events, 'utf8')).trimEnd().split('\n');
      throw new Error(
        `seed ${SEED} broke ${report.violations.length} invariant(s):\n${JSON.stringify(report.violations, null, 2)}\n` +
          `the last ${Math.min(events.length, 150)} events of ${report.files.events}:\n${events.slice(-150).join('\n')}`,
      );
    }
    expect(Object.keys(report.faults).sort()).toEqual([...FAULT_KINDS].sort());
    expect(report.stores.ready).toBeGreaterThan(0);
    expect(report.stores.deleted).toBeGreaterThan(0);
  });
});
