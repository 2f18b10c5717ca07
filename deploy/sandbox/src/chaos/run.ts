import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { percentile, residentMegabytes, round } from '../bench/stats';
import { countLogLine, log } from '../log';
import { Platform, SANDBOX_LEADER_ELECTION_ENV, ServiceName, SERVICES } from '../platform';
import { Sandbox } from '../sandbox';
import { SeededUser } from '../tokens';
import { FAULT_KINDS, FaultInjector, faultSequence, FaultKind } from './faults';
import { checkInvariants, Violation } from './invariants';
import { LeaderTerms } from './leader-terms';
import { Random } from './random';
import { Lifecycle, planLifecycles, Workload } from './workload';

export interface ChaosOptions {
  /** Store lifecycles under faults. */
  readonly lifecycles: number;
  readonly seed: number;
  /** Lifecycles run first with no faults, for time-to-Ready without chaos (default 0). */
  readonly calmLifecycles?: number;
  readonly tenants?: number;
  /** Lifecycles a tenant runs at once (default 3). */
  readonly parallelPerTenant?: number;
  /**
   * A tenant's quota of active stores. The default leaves room for the stores the tenant keeps and one lifecycle
   * fewer than it runs at once, so a create is rejected when all of its lifecycles hold a store together.
   */
  readonly quotaPerTenant?: number;
  /** Every fault kind once before the random draws (a short run still sees each). */
  readonly everyKindFirst?: boolean;
  /** Where the event log, the services' output and the report go. */
  readonly dir: string;
  /** Extra environment for every service (e.g. to switch a safeguard off and see the run catch it). */
  readonly env?: Readonly<Record<string, string>>;
  /** How long a lifecycle's step, and the wait for quiescence, may take. */
  readonly stepTimeoutMs?: number;
}

export interface ChaosReport {
  readonly seed: number;
  readonly lifecycles: number;
  readonly passed: boolean;
  readonly violations: readonly Violation[];
  readonly faults: Partial<Record<FaultKind, number>>;
  readonly stores: { accepted: number; ready: number; failed: number; rejected: number; deleted: number; kept: number };
  /** From the end of the last fault to every invariant holding. */
  readonly quiescenceMs: number;
  readonly leaderFailoverMs: { count: number; missed: number; p50: number; max: number };
  /** Terms begun per operator service, from its replicas' "Started leading" lines. */
  readonly leaderTerms: Record<string, number>;
  readonly timeToReadyMs: { calm: Percentiles; chaos: Percentiles };
  /** Each service instance's resident memory after start and at the end (a restarted one is a new process). */
  readonly rssMb: Record<string, { start: number; end: number }>;
  /** Error-level log lines by service and message: the faults explain many; one they do not is a lead. */
  readonly errorsLogged: Readonly<Record<string, number>>;
  readonly durationMs: number;
  readonly files: { events: string; services: string };
}

interface Percentiles {
  readonly count: number;
  readonly p50: number;
  readonly p95: number;
}

const REPLICAS = 2;
const NATS_SERVERS = 3;
/** Stores each tenant keeps per phase (calm, chaos): they hold its quota until the run ends. */
const KEEP_PER_TENANT = 1;

/**
 * A chaos run: the platform with two replicas of every service and a 3-server NATS cluster, each process behind
 * its own links to NATS, while tenants create and delete stores through the API and faults strike one after another
 * (see faults.ts). Then it waits for quiescence and checks the invariants (invariants.ts). Everything it decides is
 * drawn from the seed; the event log and the services' output are kept in `dir`.
 */
export async function runChaos(sandbox: Sandbox, options: ChaosOptions): Promise<ChaosReport> {
  const started = Date.now();
  const random = new Random(options.seed);
  const run = randomBytes(3).toString('hex');
  const admin: SeededUser = { name: `chaos-admin-${run}`, role: 'admin', token: randomBytes(24).toString('hex') };
  const tenants: SeededUser[] = Array.from({ length: options.tenants ?? 4 }, (_, i) => ({
    name: `t${i}-${run}`,
    role: 'tenant',
    token: randomBytes(24).toString('hex'),
  }));
  await mkdir(options.dir, { recursive: true });
  const files = { events: join(options.dir, 'events.jsonl'), services: join(options.dir, 'services.log') };
  const events = createWriteStream(files.events);
  const services = createWriteStream(files.services);
  const record = (event: string, fields: Record<string, unknown> = {}) =>
    events.write(`${JSON.stringify({ at: new Date().toISOString(), event, ...fields })}\n`);
  record('run', { seed: options.seed, lifecycles: options.lifecycles, run });

  const errorsLogged: Record<string, number> = {};
  const leaderTerms = new LeaderTerms();
  const parallelPerTenant = options.parallelPerTenant ?? 3;
  const platform = new Platform(sandbox, {
    users: [admin, ...tenants],
    replicas: Object.fromEntries(SERVICES.map((name) => [name, REPLICAS])),
    natsServers: NATS_SERVERS,
    natsLinks: true,
    env: {
      LOG_LEVEL: 'info',
      QUOTA_MAX_ACTIVE_STORES_PER_OWNER: String(options.quotaPerTenant ?? 2 * KEEP_PER_TENANT + parallelPerTenant - 1),
      QUOTA_MAX_CREATES_PER_OWNER_PER_HOUR: '100000',
      QUOTA_MAX_CREATES_PER_SOURCE_PER_HOUR: '100000',
      QUOTA_MAX_ACTIVE_STORES: '100000',
      RATE_LIMIT_CREATES_PER_MINUTE: '1000000',
      RATE_LIMIT_USER_PER_MINUTE: '1000000',
      RATE_LIMIT_IP_PER_MINUTE: '1000000',
      RESYNC_SECONDS: '5',
      TEARDOWN_STUCK_SECONDS: '20',
      HELM_STALE_LOCK_SECONDS: '3',
      ...options.env,
    },
    output: (line) => {
      services.write(`${line}\n`);
      countLogLine(errorsLogged, line, ['error']);
      leaderTerms.observe(line);
    },
  });
  const gateways = () => Array.from({ length: REPLICAS }, (_, replica) => platform.urlOf('gateway', replica));
  const stepTimeoutMs = options.stepTimeoutMs ?? 240_000;
  const leaseMs = Number(SANDBOX_LEADER_ELECTION_ENV['LEASE_DURATION_SECONDS']) * 1000;
  try {
    log.step(`chaos: starting the platform (${REPLICAS} replicas of every service, ${NATS_SERVERS} NATS servers)`);
    await platform.start();
    const rssStart = residentMemory(platform);
    const workload = (count: number, label: string) =>
      new Workload({
        phase: label,
        gateways,
        tenants,
        plans: planLifecycles(count, tenants, random.fork(label), KEEP_PER_TENANT),
        parallelPerTenant,
        stepTimeoutMs,
        log: (event, fields) => record(event, { phase: label, ...fields }),
      });

    const calm = workload(options.calmLifecycles ?? 0, 'calm');
    if (options.calmLifecycles) {
      log.step(`chaos: ${options.calmLifecycles} lifecycles without faults`);
      await calm.run();
    }

    log.step(`chaos: ${options.lifecycles} lifecycles under faults (seed ${options.seed})`);
    const chaos = workload(options.lifecycles, 'chaos');
    const injector = new FaultInjector(platform, sandbox, record);
    let workloadDone = false;
    const restarter = restartCrashed(platform, () => workloadDone, record);
    const progress = setInterval(() => {
      const finished = chaos.lifecycles.filter((l) => l.finished).length;
      log.step(
        `chaos: ${finished} of ${options.lifecycles} lifecycles done; faults ${JSON.stringify(injector.record.injected)}`,
      );
    }, 30_000);
    const faults = injector.run(
      faultSequence(random.fork('faults'), {
        replicas: REPLICAS,
        natsServers: NATS_SERVERS,
        leaseMs,
        everyKindFirst: options.everyKindFirst ?? false,
      }),
      () => workloadDone,
      options.everyKindFirst ? FAULT_KINDS.length : 0,
    );
    try {
      await chaos.run();
    } finally {
      workloadDone = true;
      clearInterval(progress);
      await faults;
      await restarter;
    }
    const lastFault = injector.record.lastFaultEndedAt || Date.now();
    record('workload-done');

    log.step('chaos: waiting for quiescence, then checking the invariants');
    const inputs = () => ({
      sandbox,
      nats: platform.nats,
      gateways: gateways(),
      admin,
      tenants: tenants.map((t) => t.name),
      lifecycles: [...calm.lifecycles, ...chaos.lifecycles],
      unexpectedExits: platform.unexpectedExits(),
    });
    // A check that cannot run yet (a NATS stream still electing its leader, say) counts as not quiet, like a violation.
    const check = () =>
      checkInvariants(inputs()).catch((error: unknown) => [
        { invariant: 'the checks could run', detail: String(error) },
      ]);
    let violations = await check();
    for (let told = Date.now(), giveUpAt = Date.now() + stepTimeoutMs; violations.length && Date.now() < giveUpAt;) {
      if (Date.now() - told > 30_000) {
        told = Date.now();
        log.step(
          `chaos: not quiet yet: ${violations.length} invariant(s) broken, e.g. ${JSON.stringify(violations[0])}`,
        );
      }
      await sleep(2_000);
      violations = await check();
    }
    const quiescenceMs = Date.now() - lastFault;
    const rssEnd = residentMemory(platform);
    // What the run kept goes too, through the API: the platform must still drain cleanly after all that.
    for (const workload of [calm, chaos]) {
      for (const detail of await workload.removeKept()) {
        violations.push({ invariant: 'every kept store deletes at the end', detail });
      }
    }
    violations.push(...leaderTerms.violations());
    for (const violation of violations) record('violation', { ...violation });
    const all = [...calm.lifecycles, ...chaos.lifecycles];
    const failovers = injector.record.failoverMs;
    return {
      seed: options.seed,
      lifecycles: options.lifecycles,
      passed: violations.length === 0,
      violations,
      faults: injector.record.injected,
      stores: {
        accepted: all.filter((l) => l.id).length,
        ready: all.filter((l) => l.settled === 'ready').length,
        failed: all.filter((l) => l.settled === 'failed').length,
        rejected: all.filter((l) => l.settled === 'rejected').length,
        deleted: all.filter((l) => l.gone).length,
        kept: all.filter((l) => l.plan.ending === 'keep' && l.settled && l.settled !== 'rejected').length,
      },
      quiescenceMs,
      leaderFailoverMs: {
        count: failovers.length,
        missed: injector.record.missedFailovers,
        p50: percentile(failovers, 50),
        max: failovers.length ? Math.max(...failovers) : Number.NaN,
      },
      leaderTerms: leaderTerms.terms(),
      timeToReadyMs: { calm: timeToReady(calm.lifecycles), chaos: timeToReady(chaos.lifecycles) },
      rssMb: Object.fromEntries(
        Object.entries(rssStart).map(([instance, start]) => [instance, { start, end: rssEnd[instance] ?? Number.NaN }]),
      ),
      errorsLogged,
      durationMs: Date.now() - started,
      files,
    };
  } finally {
    await platform.stop();
    await Promise.all([events, services].map((stream) => new Promise((resolve) => stream.end(resolve))));
  }
}

/** As Kubernetes restarts a crashed container: a service that exited by itself is started again (and reported). */
async function restartCrashed(
  platform: Platform,
  stopped: () => boolean,
  record: (event: string, fields?: Record<string, unknown>) => void,
): Promise<void> {
  let seen = 0;
  while (!stopped()) {
    const exits = platform.unexpectedExits();
    for (const exit of exits.slice(seen)) {
      record('crash', { instance: exit.instance, code: exit.code, signal: exit.signal });
      const [service, replica] = exit.instance.split('-') as [ServiceName, string | undefined];
      await platform
        .launch(service, Number(replica ?? 0))
        .catch((error: unknown) => record('restart-failed', { instance: exit.instance, error: String(error) }));
    }
    seen = exits.length;
    await sleep(1_000);
  }
}

function residentMemory(platform: Platform): Record<string, number> {
  const memory: Record<string, number> = {};
  for (const service of SERVICES) {
    for (let replica = 0; replica < REPLICAS; replica++) {
      memory[`${service}-${replica}`] = residentMegabytes(platform.pidOf(service, replica));
    }
  }
  return memory;
}

function timeToReady(lifecycles: readonly Lifecycle[]): Percentiles {
  const times = lifecycles.flatMap((l) => (l.readyAt && l.acceptedAt ? [l.readyAt - l.acceptedAt] : []));
  return { count: times.length, p50: round(percentile(times, 50), 0), p95: round(percentile(times, 95), 0) };
}
