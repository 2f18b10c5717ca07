import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { countLogLine, log } from '../log';
import { repoRoot } from '../paths';
import { Platform, SERVICES } from '../platform';
import { Sandbox } from '../sandbox';
import { SeededUser } from '../tokens';
import { AuditCounts, CostCounters, CostPerStore, perStore, Processes, readCounters } from './cost';
import { applyFloor, captureStore, deleteFloor, StoreTemplate } from './floor';
import { LiveStores } from './live-stores';
import { percentile, publishResults, residentMegabytes, round } from './stats';

const USAGE = `usage: npm run bench:operator -- [--sizes 10,100,1000] [--rate R] [--floor-in-flight N]

  --sizes            how many stores each run makes (default 10,100)
  --rate             stores a second the steady run requests (default 2)
  --floor-in-flight  stores the floor applies at once (default 8: about 130 requests in flight, within the API
                     server's limits)

For each size on one KWOK sandbox (nodes enough for the pods): the stores requested through the API all at once
(50 in flight) and at a steady rate, each timed from its request to Ready on the console's WebSocket and then deleted;
then the floor, the same objects applied directly. Each run's cost per store is counted, not timed: API-server
requests by verb and resource, watch events by kind, JetStream messages by stream, Helm commands and CPU-seconds per
process. Prints a table and writes .sandbox/benchmarks/operator.json.`;

const BURST_IN_FLIGHT = 50;
const TIMEOUT_MS = 60 * 60_000;
/** Pods a WooCommerce store runs (WordPress, MariaDB, the setup Job), and pods a KWOK node takes. */
const PODS_PER_STORE = 3;
const PODS_PER_NODE = 250;

/** The API server's names for the platform's services (their service accounts) and for the floor (the admin). */
const PLATFORM_CLIENTS = SERVICES.map((service) => `urumi-${service}`);
const FLOOR_CLIENT = 'urumi-admin';

const tenant: SeededUser = { name: 'bench', role: 'tenant', token: 'bench-tenant-token-000000000000' };
const admin: SeededUser = { name: 'bench-admin', role: 'admin', token: 'bench-admin-token-0000000000000' };
const headers = { Authorization: `Bearer ${tenant.token}`, 'Content-Type': 'application/json' };

type Mode = 'burst' | 'steady';

interface PlatformRun {
  readonly mode: Mode;
  readonly allReadyS: number;
  readonly timeToReadyS: { p50: number; p95: number };
  readonly allDeletedS: number;
  /** Mean time per store between its steps, from the Store's status history (ms). */
  readonly breakdownMs: Record<string, number>;
  readonly perStoreLifecycle: CostPerStore;
  readonly rssMbAllReady: Record<string, number>;
}

interface FloorRun {
  readonly allReadyS: number;
  readonly timeToReadyS: { p50: number; p95: number };
  readonly allDeletedS: number;
  readonly inFlight: number;
  readonly perStoreLifecycle: CostPerStore;
}

interface SizeResult {
  readonly stores: number;
  readonly platform: PlatformRun[];
  readonly floor: FloorRun;
  /** Each platform run's time to all Ready over the floor's. */
  readonly ratio: Partial<Record<Mode, number>>;
  /** The services' warning and error lines by service and message, over both runs: what slowed them, often. */
  readonly warningsLogged: Record<string, number>;
}

interface Options {
  readonly sizes: number[];
  readonly rate: number;
  readonly floorInFlight: number;
}

/** `npm run bench:operator`: see USAGE. */
async function main(options: Options): Promise<void> {
  const largest = Math.max(...options.sizes);
  const nodes = Math.max(4, Math.ceil((largest * PODS_PER_STORE * 1.2) / PODS_PER_NODE));
  // KWOK nodes only: the benchmark measures the operators' cost per store, not containers.
  const sandbox = new Sandbox({
    stateDir: join(repoRoot, '.sandbox', 'bench-operator'),
    realNode: false,
    nodes,
    auditLog: true,
  });
  await sandbox.down({ purge: true });
  await sandbox.up();
  const audit = new AuditCounts(sandbox.auditLog);
  const results: SizeResult[] = [];
  let template: StoreTemplate | undefined;
  try {
    for (const size of options.sizes) {
      const complaints: Record<string, number> = {};
      const platform = newPlatform(sandbox, complaints);
      const { gatewayUrl } = await platform.start();
      const live = new LiveStores(gatewayUrl, admin);
      await live.open();
      const runs: PlatformRun[] = [];
      try {
        // A first store warms every service up (and gives the floor its objects).
        const [warmUp] = await request(gatewayUrl, [`warm-${size}`], BURST_IN_FLIGHT);
        await live.ready([warmUp?.id ?? ''], TIMEOUT_MS);
        template ??= await captureStore(sandbox, `warm-${size}`);
        await remove(gatewayUrl, live, [warmUp?.id ?? '']);
        for (const mode of ['burst', 'steady'] as const) {
          runs.push(await platformRun({ sandbox, platform, live, audit, gatewayUrl }, size, mode, options.rate));
        }
      } finally {
        live.close();
        await platform.stop();
      }
      const floor = await floorRun(sandbox, audit, template, size, options.floorInFlight);
      results.push({
        stores: size,
        platform: runs,
        floor,
        ratio: Object.fromEntries(runs.map((r) => [r.mode, round(r.allReadyS / floor.allReadyS, 2)])),
        warningsLogged: complaints,
      });
    }
    printTable(results);
    await publishResults('operator', {
      date: new Date().toISOString(),
      machine: { cores: cpus().length, cpu: cpus()[0]?.model, node: process.version },
      engine: 'woocommerce',
      kwokNodes: nodes,
      burstInFlight: BURST_IN_FLIGHT,
      steadyRatePerS: options.rate,
      sizes: results,
    });
  } finally {
    await sandbox.down({ purge: true });
  }
}

function newPlatform(sandbox: Sandbox, complaints: Record<string, number>): Platform {
  return new Platform(sandbox, {
    users: [tenant, admin],
    env: {
      LOG_LEVEL: 'warn',
      RATE_LIMIT_USER_PER_MINUTE: '1000000',
      RATE_LIMIT_IP_PER_MINUTE: '1000000',
      RATE_LIMIT_CREATES_PER_MINUTE: '1000000',
      QUOTA_OWNER_OVERRIDES: JSON.stringify({ bench: { maxActiveStores: 100000, maxCreatesPerHour: 100000 } }),
      QUOTA_MAX_ACTIVE_STORES: '100000',
      QUOTA_MAX_CREATES_PER_SOURCE_PER_HOUR: '100000',
    },
    output: (line) => countLogLine(complaints, line, ['warn', 'error']),
  });
}

interface Bench {
  readonly sandbox: Sandbox;
  readonly platform: Platform;
  readonly live: LiveStores;
  readonly audit: AuditCounts;
  readonly gatewayUrl: string;
}

async function platformRun(bench: Bench, size: number, mode: Mode, rate: number): Promise<PlatformRun> {
  const { sandbox, platform, live, audit, gatewayUrl } = bench;
  const names = Array.from({ length: size }, (_, i) => `${mode[0]}${size}-${String(i).padStart(4, '0')}`);
  log.step(
    `${size} stores through the API, ${mode === 'burst' ? `all at once (${BURST_IN_FLIGHT} in flight)` : `${rate} a second`}`,
  );
  const processes = await platformProcesses(sandbox, platform);
  const before = await readCounters(sandbox, platform, processes, audit);
  const started = performance.now();
  const accepted = await request(gatewayUrl, names, BURST_IN_FLIGHT, mode === 'steady' ? 1000 / rate : 0);
  const readyAt = await live.ready(
    accepted.map((a) => a.id),
    TIMEOUT_MS,
  );
  const allReadyMs = performance.now() - started;
  const rssMbAllReady = residentMemory(processes);
  const ready = await readCounters(sandbox, platform, processes, audit);
  const breakdownMs = await stepBreakdown(sandbox, accepted);
  log.step(`all ${size} Ready in ${round(allReadyMs / 1000)}s; deleting them through the API`);

  const beforeDelete = await readCounters(sandbox, platform, processes, audit);
  const deleteStarted = performance.now();
  await remove(
    gatewayUrl,
    live,
    accepted.map((a) => a.id),
  );
  const allDeletedMs = performance.now() - deleteStarted;
  const after = await readCounters(sandbox, platform, processes, audit);
  const perStoreTimes = accepted.map((a) => (readyAt.get(a.id) ?? Number.NaN) - a.requestedAt);
  return {
    mode,
    allReadyS: round(allReadyMs / 1000),
    timeToReadyS: seconds(perStoreTimes),
    allDeletedS: round(allDeletedMs / 1000),
    breakdownMs,
    perStoreLifecycle: perStore(before, lifecycleEnd(before, ready, beforeDelete, after), size),
    rssMbAllReady,
  };
}

async function floorRun(
  sandbox: Sandbox,
  audit: AuditCounts,
  template: StoreTemplate,
  size: number,
  inFlight: number,
): Promise<FloorRun> {
  log.step(`floor: the same objects for ${size} stores applied directly, ${inFlight} stores at a time`);
  const names = Array.from({ length: size }, (_, i) => `floor${size}-${String(i).padStart(4, '0')}`);
  const processes: Processes = { 'kube-apiserver': await apiServerPid(sandbox) };
  const before = await readCounters(sandbox, undefined, processes, audit);
  const started = performance.now();
  const readyAfter = await applyFloor(sandbox, template, names, inFlight, TIMEOUT_MS);
  const allReadyMs = performance.now() - started;
  const ready = await readCounters(sandbox, undefined, processes, audit);
  const allDeletedMs = await deleteFloor(sandbox, names);
  const after = await readCounters(sandbox, undefined, processes, audit);
  log.step(`floor: all ${size} Ready in ${round(allReadyMs / 1000)}s, deleted in ${round(allDeletedMs / 1000)}s`);
  return {
    allReadyS: round(allReadyMs / 1000),
    timeToReadyS: seconds([...readyAfter.values()]),
    allDeletedS: round(allDeletedMs / 1000),
    inFlight,
    perStoreLifecycle: perStore(before, lifecycleEnd(before, ready, ready, after), size),
  };
}

/**
 * The counters a lifecycle moved: what creation moved (to `ready`) plus what deletion moved (from `beforeDelete`),
 * as one snapshot after `before`, so that what the benchmark read in between (the Stores' history) is not counted.
 */
function lifecycleEnd(before: CostCounters, ready: CostCounters, beforeDelete: CostCounters, after: CostCounters) {
  const add = (key: keyof Omit<CostCounters, 'helmCommands'>) => {
    const keys = new Set([...Object.keys(before[key]), ...Object.keys(ready[key]), ...Object.keys(after[key])]);
    return Object.fromEntries(
      [...keys].map((k) => [k, (ready[key][k] ?? 0) + (after[key][k] ?? 0) - (beforeDelete[key][k] ?? 0)]),
    );
  };
  return {
    apiRequests: add('apiRequests'),
    clientRequests: add('clientRequests'),
    watchEvents: add('watchEvents'),
    streamMessages: add('streamMessages'),
    cpuSeconds: add('cpuSeconds'),
    helmCommands: ready.helmCommands + after.helmCommands - beforeDelete.helmCommands,
  };
}

interface Accepted {
  readonly name: string;
  readonly id: string;
  readonly requestedAt: number;
}

/** POSTs a store per name, `inFlight` at a time, one every `everyMs` at most; resolves with each accepted store. */
async function request(
  gatewayUrl: string,
  names: readonly string[],
  inFlight: number,
  everyMs = 0,
): Promise<Accepted[]> {
  const accepted: Accepted[] = [];
  const queue = [...names];
  const started = performance.now();
  let issued = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
        const due = started + issued++ * everyMs;
        if (due > performance.now()) await sleep(due - performance.now());
        const requestedAt = performance.now();
        const res = await fetch(`${gatewayUrl}/api/v1/stores`, {
          method: 'POST',
          headers,
          body: JSON.stringify({ name, engine: 'woocommerce' }),
        });
        const body = (await res.json()) as { id?: string };
        if (res.status !== 202 || !body.id) throw new Error(`POST ${name}: ${res.status} ${JSON.stringify(body)}`);
        accepted.push({ name, id: body.id, requestedAt });
      }
    }),
  );
  return accepted;
}

/** DELETEs the stores, all at once, and waits until the gateway no longer lists them. */
async function remove(gatewayUrl: string, live: LiveStores, ids: readonly string[]): Promise<void> {
  const queue = [...ids];
  await Promise.all(
    Array.from({ length: BURST_IN_FLIGHT }, async () => {
      for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
        const res = await fetch(`${gatewayUrl}/api/v1/stores/${id}`, { method: 'DELETE', headers });
        await res.arrayBuffer();
        if (res.status !== 202) throw new Error(`DELETE ${id}: ${res.status}`);
      }
    }),
  );
  await live.deleted(ids, TIMEOUT_MS);
}

/**
 * Where a store's time went between its request and Ready: the mean time from each step of its status history to the
 * next (the first from the request, by the Store's own clock: every process here shares this machine's).
 */
async function stepBreakdown(sandbox: Sandbox, accepted: readonly Accepted[]): Promise<Record<string, number>> {
  const { items } = JSON.parse(await sandbox.kubectl(['get', 'stores', '-o', 'json'])) as {
    items: { spec: { storeId: string }; status?: { history?: { step: string; at: string }[] } }[];
  };
  const wallClockOf = (monotonic: number) => Date.now() - (performance.now() - monotonic);
  const byId = new Map(accepted.map((a) => [a.id, wallClockOf(a.requestedAt)]));
  const sums = new Map<string, number[]>();
  for (const store of items) {
    const requested = byId.get(store.spec.storeId);
    if (requested === undefined) continue;
    let previous = { step: 'requested', at: requested };
    for (const entry of store.status?.history ?? []) {
      const at = Date.parse(entry.at);
      const key = `${previous.step} → ${entry.step}`;
      sums.set(key, [...(sums.get(key) ?? []), at - previous.at]);
      previous = { step: entry.step, at };
    }
  }
  return Object.fromEntries(
    [...sums].map(([key, values]) => [key, round(values.reduce((a, b) => a + b, 0) / values.length, 0)]),
  );
}

async function platformProcesses(sandbox: Sandbox, platform: Platform): Promise<Processes> {
  return {
    ...Object.fromEntries(SERVICES.map((service) => [service, platform.pidOf(service)])),
    'kube-apiserver': await apiServerPid(sandbox),
  };
}

async function apiServerPid(sandbox: Sandbox): Promise<number | undefined> {
  return (await sandbox.status()).find((c) => c.name === 'kube-apiserver')?.pid;
}

function residentMemory(processes: Processes): Record<string, number> {
  return Object.fromEntries(Object.entries(processes).map(([name, pid]) => [name, residentMegabytes(pid)]));
}

function seconds(values: readonly number[]): { p50: number; p95: number } {
  return { p50: round(percentile(values, 50) / 1000), p95: round(percentile(values, 95) / 1000) };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The API requests the platform's own clients (or the floor's) made, per store: the cluster's controllers apart. */
function ownRequests(cost: CostPerStore, clients: readonly string[]): number {
  return round(
    clients.reduce((sum, client) => sum + (cost.requestsByClient[client]?.['total'] ?? 0), 0),
    2,
  );
}

function printTable(results: readonly SizeResult[]): void {
  const rows = results.flatMap((size) => [
    ...size.platform.map((run) => ({
      stores: size.stores,
      run: run.mode,
      allReadyS: run.allReadyS,
      p50S: run.timeToReadyS.p50,
      p95S: run.timeToReadyS.p95,
      ratio: size.ratio[run.mode],
      apiRequests: run.perStoreLifecycle.apiRequests.total,
      ownRequests: ownRequests(run.perStoreLifecycle, PLATFORM_CLIENTS),
      watchEvents: run.perStoreLifecycle.watchEvents.total,
      natsMessages: run.perStoreLifecycle.streamMessages.total,
      helm: run.perStoreLifecycle.helmCommands,
      cpuS: run.perStoreLifecycle.cpuSeconds.total,
      provisionerMb: run.rssMbAllReady['provisioner'],
    })),
    {
      stores: size.stores,
      run: 'floor',
      allReadyS: size.floor.allReadyS,
      p50S: size.floor.timeToReadyS.p50,
      p95S: size.floor.timeToReadyS.p95,
      ratio: 1,
      apiRequests: size.floor.perStoreLifecycle.apiRequests.total,
      ownRequests: ownRequests(size.floor.perStoreLifecycle, [FLOOR_CLIENT]),
      watchEvents: size.floor.perStoreLifecycle.watchEvents.total,
      natsMessages: 0,
      helm: 0,
      cpuS: size.floor.perStoreLifecycle.cpuSeconds.total,
      provisionerMb: undefined,
    },
  ]);
  console.table(rows);
}

function parseOptions(): Options | undefined {
  const { values } = parseArgs({
    options: {
      sizes: { type: 'string', default: '10,100' },
      rate: { type: 'string', default: '2' },
      'floor-in-flight': { type: 'string', default: '8' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return undefined;
  const sizes = values.sizes.split(',').map(Number);
  const rate = Number(values.rate);
  const floorInFlight = Number(values['floor-in-flight']);
  if (!sizes.every((s) => Number.isSafeInteger(s) && s > 0))
    throw new Error(`--sizes takes whole numbers, not ${values.sizes}`);
  if (!(rate > 0)) throw new Error(`--rate takes a positive number, not ${values.rate}`);
  if (!Number.isSafeInteger(floorInFlight) || floorInFlight < 1) {
    throw new Error(`--floor-in-flight takes a whole number, not ${values['floor-in-flight']}`);
  }
  return { sizes, rate, floorInFlight };
}

try {
  const options = parseOptions();
  if (!options) console.log(USAGE);
  else {
    main(options).catch((error: unknown) => {
      console.error(`[bench] error: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    });
  }
} catch (error) {
  console.error(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
  process.exit(2);
}
