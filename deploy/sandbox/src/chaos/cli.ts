import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { publishResults } from '../bench/stats';
import { repoRoot } from '../paths';
import { Sandbox } from '../sandbox';
import { runChaos } from './run';

const USAGE = `usage: npm run chaos -- --lifecycles N --seed S [--calm C] [--set NAME=VALUE ...]

  --lifecycles N   store lifecycles (create, then delete or keep) while faults strike (default 300)
  --seed S         draws every choice of the run: tenants' lifecycles, faults, their targets and timing (default: random)
  --calm C         lifecycles run first with no faults, for time-to-Ready without chaos (default: N/10, at most 30)
  --set NAME=VALUE extra environment for every service, e.g. --set LEADER_ELECTION=false to see what the run
                   catches without leader election

Starts a sandbox of its own (.sandbox/chaos-sandbox-<seed>, KWOK nodes only), the platform with two replicas of every service and
three NATS servers, runs the lifecycles under faults, waits for quiescence, checks the invariants, prints the report
as JSON (also written to .sandbox/benchmarks/chaos-<seed>.json) and exits 1 if any invariant is broken. The event
log and the services' output stay in .sandbox/chaos/seed-<seed>/.`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      lifecycles: { type: 'string', default: '300' },
      seed: { type: 'string' },
      calm: { type: 'string' },
      set: { type: 'string', multiple: true, default: [] },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const lifecycles = Number(values.lifecycles);
  const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
  const calm = values.calm === undefined ? Math.min(30, Math.floor(lifecycles / 10)) : Number(values.calm);
  for (const [name, value] of Object.entries({ lifecycles, seed, calm })) {
    if (!Number.isSafeInteger(value) || value < 0) {
      console.error(`--${name} must be a whole number, not ${JSON.stringify(value)}\n\n${USAGE}`);
      return 2;
    }
  }
  const env: Record<string, string> = {};
  for (const setting of values.set ?? []) {
    const [name = '', ...value] = setting.split('=');
    if (!/^[A-Z][A-Z0-9_]*$/.test(name) || value.length === 0) {
      console.error(`--set takes NAME=VALUE, not ${JSON.stringify(setting)}\n\n${USAGE}`);
      return 2;
    }
    env[name] = value.join('=');
  }
  // A sandbox per seed: runs of different seeds may go side by side.
  const sandbox = new Sandbox({ stateDir: join(repoRoot, '.sandbox', `chaos-sandbox-${seed}`), realNode: false });
  await sandbox.down({ purge: true });
  try {
    await sandbox.up();
    const report = await runChaos(sandbox, {
      lifecycles,
      seed,
      calmLifecycles: calm,
      env,
      dir: join(repoRoot, '.sandbox', 'chaos', `seed-${seed}`),
    });
    await publishResults(`chaos-${seed}`, report);
    if (!report.passed) {
      const events = (await readFile(report.files.events, 'utf8')).trimEnd().split('\n');
      console.error(`\nthe last ${Math.min(events.length, 150)} events of ${report.files.events}:`);
      console.error(events.slice(-150).join('\n'));
      console.error(`\nchaos run with seed ${seed} broke ${report.violations.length} invariant(s)`);
      return 1;
    }
    return 0;
  } finally {
    await sandbox.down({ purge: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  },
);
