import { ChildProcess, fork, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { cpus, getPriority } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connect, headers } from 'nats';
import WebSocket from 'ws';
import { create, encode, Engine, Step, StoreStatusChangedSchema, subjects, timestampNow } from '@urumi/contracts';
import { compileFile } from '../compile';
import { exec } from '../exec';
import { log } from '../log';
import { repoRoot } from '../paths';
import { Platform, PlatformNats, SERVICE_NODE_FLAGS } from '../platform';
import { freePort } from '../ports';
import { get, waitUntil } from '../probe';
import { Sandbox } from '../sandbox';
import { SeededUser } from '../tokens';
import { CannedResponse, CannedResponses, Endpoint, ENDPOINTS, HOP_HEADERS } from './floors/canned';
import type { LoadRun, LoadSpec } from './floors/load-generator';
import { REQUEST_NUMBER } from './floors/load-generator';
import { cpuOf, percentile, publishResults, residentMegabytes, round } from './stats';

const CONNECTIONS = 50;
const SEQUENTIAL_CREATES = 200;
const STATUS_EVENTS = 200;
/** The server under test (the gateway, each floor) runs on one core, the load generator on the other. */
const SERVER_CORE = 0;
const LOAD_CORE = 1;

const admin: SeededUser = { name: 'bench-admin', role: 'admin', token: 'bench-admin-token-0000000000000' };
const tenant: SeededUser = { name: 'bench', role: 'tenant', token: 'bench-tenant-token-000000000000' };
const users = [admin, tenant];
const auth = (user: SeededUser) => ({ Authorization: `Bearer ${user.token}` });

/** The floors: each answers the gateway's routes with the gateway's captured bytes (bench/floors). */
const FLOORS = {
  'node:http': 'node-http.ts',
  'NestJS on Express': 'nest-express.ts',
  'NestJS on Fastify': 'nest-fastify.ts',
} as const;
type FloorName = keyof typeof FLOORS;
const BARE_FLOOR: FloorName = 'node:http';

/**
 * The services' NATS connections, by the name the server shows: each service's own (the gateway's requests and its read
 * model's watch; quota's ledger) and its consumer's (pulls and acks: the gateway's projector, quota's decisions).
 */
const NATS_CONNECTIONS = ['gateway', 'gateway-consumer', 'quota', 'quota-consumer'] as const;
type ConnectionName = (typeof NATS_CONNECTIONS)[number];

/**
 * What one POST /api/v1/stores does on NATS, read from services/gateway/src, when the projector sees the command after
 * the request has shown the store: `sent` per POST on the `gateway` connection is made of these (POST_NATS_RACE is the
 * rest). The projector also pulls and acknowledges (ackAck) each of the two STORES messages, one at a time, on
 * `gateway-consumer`.
 */
const POST_NATS_OPERATIONS: readonly {
  readonly phase: 'before the 202' | 'while answering, not awaited' | 'after, in the projector';
  readonly operation: string;
  readonly requests: number;
  readonly idempotencyKeyOnly?: true;
  readonly source: string;
}[] = [
  {
    phase: 'before the 202',
    operation:
      'rate limit "ip": KV update of its counter in rate-limits on the revision this replica remembers (get + create ' +
      "on the caller's first hit, get + update after another replica's)",
    requests: 1,
    source: 'throttling/nats-kv-throttler.storage.ts countHits (ThrottlingModule IP_STAGE guard)',
  },
  {
    phase: 'before the 202',
    operation: 'rate limit "user": KV update in rate-limits on the remembered revision',
    requests: 1,
    source: 'throttling/nats-kv-throttler.storage.ts countHits (UserRateLimitInterceptor)',
  },
  {
    phase: 'before the 202',
    operation:
      'rate limit "creates": KV update in rate-limits on the remembered revision, after "user" in the same stage',
    requests: 1,
    source: 'throttling/nats-kv-throttler.storage.ts countHits (@CreateRateLimit)',
  },
  {
    phase: 'before the 202',
    operation: 'claim the Idempotency-Key: KV create in idempotency',
    requests: 1,
    idempotencyKeyOnly: true,
    source: 'idempotency/idempotency.store.ts claim',
  },
  {
    phase: 'before the 202',
    operation: 'reserve the name: KV create in store-names',
    requests: 1,
    source: 'read-model/store.repository.ts reserveName',
  },
  {
    phase: 'before the 202',
    operation: 'the command: JetStream publish to store.cmd.create, awaiting its ack',
    requests: 1,
    source: 'stores/stores.service.ts publish',
  },
  {
    phase: 'before the 202',
    operation: 'show the store at once: KV create in stores, unread (a new store)',
    requests: 1,
    source: 'stores/stores.service.ts applyLocally → read-model/store.repository.ts apply',
  },
  {
    phase: 'before the 202',
    operation: 'keep the answer for retries: KV update in idempotency',
    requests: 1,
    idempotencyKeyOnly: true,
    source: 'idempotency/idempotency.store.ts complete',
  },
  {
    phase: 'while answering, not awaited',
    operation: 'the audit entry: JetStream publish to audit.store.create, awaiting its ack',
    requests: 1,
    source: 'audit/audited.ts AuditInterceptor → audit/audit.service.ts record',
  },
  {
    phase: 'after, in the projector',
    operation: 'the command again from STORES: nothing (the read model shows the store already)',
    requests: 0,
    source: 'read-model/projector.controller.ts project',
  },
  {
    phase: 'after, in the projector',
    operation: "quota's store.status.approved: KV update in stores on the revision the read model shows",
    requests: 1,
    source: 'read-model/projector.controller.ts project',
  },
];

/** Why a POST often costs more than POST_NATS_OPERATIONS lists. */
const POST_NATS_RACE =
  'The projector often gets the command from STORES before the publish ack is back with the request (same process), ' +
  'so it and applyLocally race on the new store: a KV create that loses the compare-and-set, nats.js reading the key ' +
  "after it, and the loser's re-read; and a status change the read model has not shown yet is read first: " +
  '1 to 4 more requests.';

interface BenchOptions {
  readonly durationS: number;
  readonly stores: number;
}

function benchOptions(): BenchOptions {
  const { values } = parseArgs({
    options: { duration: { type: 'string', default: '10' }, stores: { type: 'string', default: '1000' } },
  });
  const durationS = Number(values.duration);
  const stores = Number(values.stores);
  if (!(durationS > 0) || !Number.isInteger(stores) || stores < 1) {
    throw new Error('usage: npm run bench:gateway -- [--duration SECONDS] [--stores COUNT]');
  }
  return { durationS, stores };
}

/** A process the load generator loads, on SERVER_CORE. */
interface ServerUnderTest {
  readonly name: string;
  readonly url: string;
  readonly pid: number;
}

type RunningFloor = ServerUnderTest & { readonly process: ChildProcess };

/** One request to an endpoint; `[<n>]` in its body or headers is numbered per request (LoadSpec). */
interface EndpointRequest {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
}

/** How much load: `connections` in flight, for `durationS` or until `amount` requests are answered. */
type Volume = Pick<LoadSpec, 'connections' | 'durationS' | 'amount'>;

interface Figures {
  readonly requests: number;
  readonly p50: number;
  readonly p99: number;
  readonly requestsPerSecond: number;
  readonly errors: number;
  /** The server's CPU time over the run, in % of its one core: near 100, the server and not the load was the limit. */
  readonly serverCpuPercent: number;
  /** The server's CPU time per answer: what a request costs it, whatever else the machine was doing meanwhile. */
  readonly serverCpuMsPerRequest: number;
}

interface MessageCounts {
  /** connz in_msgs: what the connection sent (a KV read or write, a publish awaiting its ack, a pull, an ack). */
  readonly sent: number;
  /** connz out_msgs: what it got (replies, messages pulled, the read model's watch). */
  readonly received: number;
}
type MessageCountsByConnection = Record<ConnectionName, MessageCounts>;

const storeCreation = (name: string, extraHeaders: Record<string, string> = {}): EndpointRequest => ({
  method: 'POST',
  path: '/api/v1/stores',
  headers: { ...auth(tenant), 'Content-Type': 'application/json', ...extraHeaders },
  body: JSON.stringify({ name, engine: 'woocommerce' }),
});

/** A child's process id, or why there is none. */
function pidOf(child: { readonly pid?: number }, what: string): number {
  if (child.pid === undefined) throw new Error(`${what} is not running`);
  return child.pid;
}

/** Every thread of a running process on one core only (taskset, util-linux). */
async function pinToCore(pid: number, core: number): Promise<void> {
  await exec('taskset', ['--all-tasks', '--cpu-list', '--pid', String(core), String(pid)]);
}

/** The server's own CPU-seconds so far (all its threads). */
function cpuSecondsOf(server: ServerUnderTest): number {
  const cpu = cpuOf(server.pid);
  if (!cpu) throw new Error(`${server.name} (pid ${server.pid}) is not running`);
  return cpu.own;
}

/** The cores a process may run on, as the kernel has it (e.g. "0"). */
function coresOf(pid: number): string {
  return /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 'unknown';
}

/**
 * The benchmark's child programs (bench/floors: the floors and the load generator), compiled like the services so that
 * they run on equal terms; every module, since a compiled entry requires the modules it imports beside it.
 */
async function compileChildren(): Promise<{ loadGenerator: string; floors: Record<FloorName, string> }> {
  const dir = join(__dirname, 'floors');
  const sources = (await readdir(dir)).filter((file) => file.endsWith('.ts'));
  const targets = new Map(
    await Promise.all(sources.map(async (file) => [file, (await compileFile(join(dir, file))).target] as const)),
  );
  const target = (file: string) => {
    const compiled = targets.get(file);
    if (!compiled) throw new Error(`bench/floors has no ${file}`);
    return compiled;
  };
  const floors = Object.entries(FLOORS).map(([name, file]) => [name, target(file)]);
  return {
    loadGenerator: target('load-generator.ts'),
    floors: Object.fromEntries(floors) as Record<FloorName, string>,
  };
}

/** What the NATS servers have counted so far for each of the services' connections (summed over servers). */
async function messageCounts(nats: PlatformNats): Promise<MessageCountsByConnection> {
  const counts = Object.fromEntries(NATS_CONNECTIONS.map((name) => [name, { sent: 0, received: 0 }]));
  for (const monitorUrl of nats.monitorUrls) {
    const { connections } = (await (await fetch(`${monitorUrl}/connz?limit=1024`)).json()) as {
      connections: { name?: string; in_msgs: number; out_msgs: number }[];
    };
    for (const connection of connections) {
      const counted = connection.name === undefined ? undefined : counts[connection.name];
      if (!counted) continue;
      counted.sent += connection.in_msgs;
      counted.received += connection.out_msgs;
    }
  }
  return counts as MessageCountsByConnection;
}

/** Until every consumer of STORES has nothing pending or unacknowledged: quota has decided, the projector applied. */
async function untilStoresSettled(nats: PlatformNats): Promise<void> {
  const settled = async () => {
    for (const monitorUrl of nats.monitorUrls) {
      const jsz = (await (await fetch(`${monitorUrl}/jsz?consumers=true`)).json()) as {
        account_details?: {
          stream_detail?: { name: string; consumer_detail?: { num_pending: number; num_ack_pending: number }[] }[];
        }[];
      };
      const consumers = (jsz.account_details ?? [])
        .flatMap((account) => account.stream_detail ?? [])
        .filter((stream) => stream.name === 'STORES')
        .flatMap((stream) => stream.consumer_detail ?? []);
      if (consumers.some((consumer) => consumer.num_pending > 0 || consumer.num_ack_pending > 0)) return false;
    }
    return true;
  };
  await waitUntil('the STORES consumers did not catch up', settled, 300_000);
}

/** Loads servers from a load generator on LOAD_CORE, one child process per run; the gateway's runs also count NATS. */
class LoadBench {
  constructor(
    private readonly loadGenerator: string,
    private readonly gateway: ServerUnderTest,
    private readonly nats: PlatformNats,
  ) {}

  /** One endpoint of a server under load; latencies in ms. */
  async load(server: ServerUnderTest, request: EndpointRequest, volume: Volume): Promise<Figures> {
    const spec: LoadSpec = { ...request, url: `${server.url}${request.path}`, ...volume };
    const cpuBefore = cpuSecondsOf(server);
    const run = await this.generate(spec);
    const cpu = cpuSecondsOf(server) - cpuBefore;
    const latencies = Array.from(run.latenciesMs);
    return {
      requests: latencies.length,
      p50: round(percentile(latencies, 50), 2),
      p99: round(percentile(latencies, 99), 2),
      requestsPerSecond: round(latencies.length / run.durationS),
      errors: run.errors + run.non2xx,
      serverCpuPercent: round((cpu / run.durationS) * 100),
      serverCpuMsPerRequest: round((cpu * 1000) / latencies.length, 3),
    };
  }

  /**
   * `load` on the gateway, with what the services' NATS connections sent and received per request, counted by the NATS
   * server from before the load until what the requests set off (quota's decisions, the projector) has settled.
   */
  async loadGateway(
    request: EndpointRequest,
    volume: Volume,
  ): Promise<Figures & { natsPerRequest: MessageCountsByConnection }> {
    const before = await messageCounts(this.nats);
    const figures = await this.load(this.gateway, request, volume);
    await untilStoresSettled(this.nats);
    const after = await messageCounts(this.nats);
    const perRequest = (name: ConnectionName): MessageCounts => ({
      sent: round((after[name].sent - before[name].sent) / figures.requests, 2),
      received: round((after[name].received - before[name].received) / figures.requests, 2),
    });
    const counts = NATS_CONNECTIONS.map((name) => [name, perRequest(name)]);
    return { ...figures, natsPerRequest: Object.fromEntries(counts) as MessageCountsByConnection };
  }

  /** Runs the load generator to its end: it is pinned before it is told what to load. */
  private async generate(spec: LoadSpec): Promise<LoadRun> {
    const child = fork(this.loadGenerator, [], { execArgv: [], serialization: 'advanced' });
    const done = new Promise<LoadRun>((resolve, reject) => {
      let run: LoadRun | undefined;
      child.once('message', (message) => (run = message as LoadRun));
      child.once('exit', (code) =>
        run ? resolve(run) : reject(new Error(`the load generator exited with code ${code} before it reported`)),
      );
    });
    try {
      await pinToCore(pidOf(child, 'the load generator'), LOAD_CORE);
      child.send(spec);
      return await done;
    } finally {
      if (child.exitCode === null) child.kill();
    }
  }
}

/** One request over node:http, the answer as it came: status, headers in their order and case (less HOP_HEADERS), body. */
function exchange(url: string, request: EndpointRequest): Promise<CannedResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}${request.path}`, { method: request.method, headers: request.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const headerPairs: [string, string][] = [];
        for (let i = 0; i < res.rawHeaders.length; i += 2) {
          const [name = '', value = ''] = res.rawHeaders.slice(i, i + 2);
          if (!HOP_HEADERS.has(name.toLowerCase())) headerPairs.push([name, value]);
        }
        resolve({ status: res.statusCode ?? 0, headers: headerPairs, body: Buffer.concat(chunks).toString() });
      });
    });
    req.on('error', reject);
    req.end(request.body);
  });
}

/** How two answers differ (status, body, or headers by name whatever their case and order); undefined when alike. */
function difference(expected: CannedResponse, actual: CannedResponse): string | undefined {
  if (expected.status !== actual.status) return `status ${actual.status}, not ${expected.status}`;
  if (expected.body !== actual.body) return `a body of ${actual.body.length} characters, not the gateway's`;
  const normal = (response: CannedResponse) =>
    JSON.stringify(response.headers.map(([name, value]) => `${name.toLowerCase()}: ${value}`).sort());
  if (normal(expected) !== normal(actual)) return `headers ${normal(actual)}, not ${normal(expected)}`;
  return undefined;
}

async function startFloor(name: FloorName, entry: string, cannedFile: string): Promise<RunningFloor> {
  const port = await freePort();
  // The services' Node.js flags: the same heap, so the same garbage collection under load.
  const child = spawn(process.execPath, [...SERVICE_NODE_FLAGS, entry], {
    cwd: repoRoot,
    env: { ...process.env, PORT: String(port), CANNED_RESPONSES: cannedFile },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    const answers = async () => (await get(`${url}/api/v1/stores`)).status === 200;
    await waitUntil(`the ${name} floor did not start`, answers, 30_000, () =>
      child.exitCode === null ? undefined : `it exited with code ${child.exitCode}`,
    );
    const pid = pidOf(child, `the ${name} floor`);
    await pinToCore(pid, SERVER_CORE);
    return { name, url, pid, process: child };
  } catch (error) {
    child.kill();
    throw error;
  }
}

/** A floor that does not answer the gateway's very bytes would measure something else: refuse to go on. */
async function verifyFloor(
  floor: ServerUnderTest,
  requests: Record<Endpoint, EndpointRequest>,
  canned: CannedResponses,
): Promise<void> {
  for (const endpoint of ENDPOINTS) {
    const problem = difference(canned[endpoint], await exchange(floor.url, requests[endpoint]));
    if (problem) throw new Error(`the ${floor.name} floor answers ${endpoint} with ${problem}`);
  }
}

/** Publishes status changes as the provisioner would and times their arrival at a WebSocket client. */
async function statusToWebSocket(
  gatewayUrl: string,
  nats: PlatformNats,
  stores: { id: string; name: string }[],
): Promise<{ p50: number; p95: number; max: number }> {
  const token = Buffer.from(admin.token).toString('base64url');
  const ws = new WebSocket(`${gatewayUrl.replace('http', 'ws')}/api/v1/live`, ['urumi.v1', `bearer.${token}`]);
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  ws.on('message', (data) => {
    const message = JSON.parse(String(data)) as { type: string; store?: { id: string; step: string } };
    const key = message.store && `${message.store.id}:${message.store.step}`;
    const sent = key ? sentAt.get(key) : undefined;
    if (key && sent !== undefined) {
      latencies.push(performance.now() - sent);
      sentAt.delete(key);
    }
  });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  // Signed in as the provisioner, whose events these are.
  const nc = await connect({ servers: nats.url, user: 'provisioner', pass: nats.passwords['provisioner'] });
  const js = nc.jetstream();
  for (const store of stores.slice(0, STATUS_EVENTS)) {
    const event = create(StoreStatusChangedSchema, {
      storeId: store.id,
      name: store.name,
      engine: Engine.WOOCOMMERCE,
      owner: 'bench',
      step: Step.NAMESPACE_READY,
      occurredAt: timestampNow(),
    });
    const h = headers();
    h.set('Nats-Msg-Id', `bench:${store.id}`);
    sentAt.set(`${store.id}:namespace-ready`, performance.now());
    await js.publish(subjects.status(Step.NAMESPACE_READY), JSON.stringify(encode(StoreStatusChangedSchema, event)), {
      headers: h,
    });
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await waitUntil('status changes did not all reach the WebSocket', async () => sentAt.size === 0, 30_000);
  ws.close();
  await nc.close();
  return {
    p50: round(percentile(latencies, 50)),
    p95: round(percentile(latencies, 95)),
    max: round(Math.max(...latencies)),
  };
}

/** Mean time the gateway itself spent per route (its Prometheus histogram), apart from the load generator's view. */
async function serverSideMeans(metricsUrl: string): Promise<Record<string, number>> {
  const text = await (await fetch(metricsUrl)).text();
  const totals = new Map<string, { sum: number; count: number }>();
  for (const match of text.matchAll(/^http_request_duration_seconds_(sum|count)\{([^}]*)\} (\S+)$/gm)) {
    const [, kind, labels = '', value = '0'] = match;
    const method = /method="([^"]+)"/.exec(labels)?.[1];
    const route = /route="([^"]+)"/.exec(labels)?.[1];
    const key = `${method} ${route}`;
    const entry = totals.get(key) ?? { sum: 0, count: 0 };
    if (kind === 'sum') entry.sum += Number(value);
    else entry.count += Number(value);
    totals.set(key, entry);
  }
  return Object.fromEntries([...totals].map(([key, { sum, count }]) => [key, round((sum / count) * 1000, 2)]));
}

type Ratios = Record<'p50' | 'p99' | 'requestsPerSecond' | 'serverCpuMsPerRequest', number>;

/** Each figure over the bare node:http floor's: latency ×2 is twice as slow, req/s ×0.5 half as many. */
function ratiosTo(floor: Figures, figures: Figures): Ratios {
  return {
    p50: round(figures.p50 / floor.p50, 2),
    p99: round(figures.p99 / floor.p99, 2),
    requestsPerSecond: round(figures.requestsPerSecond / floor.requestsPerSecond, 2),
    serverCpuMsPerRequest: round(figures.serverCpuMsPerRequest / floor.serverCpuMsPerRequest, 2),
  };
}

interface EndpointComparison {
  readonly request: string;
  readonly responseBytes: number;
  readonly servers: Record<string, Figures & { natsPerRequest?: MessageCountsByConnection }>;
  readonly ratiosToNodeHttp: Record<string, Ratios>;
}

function printTable(title: string, rows: readonly (readonly (string | number)[])[]): void {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => String(row[column] ?? '').length))) ?? [];
  console.log(`\n${title}`);
  for (const row of rows) {
    console.log(
      row
        .map((cell, column) =>
          typeof cell === 'number' ? String(cell).padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0),
        )
        .join('  '),
    );
  }
}

function printComparison(endpoints: Record<Endpoint, EndpointComparison>): void {
  const rows: (string | number)[][] = [
    [
      'endpoint',
      'server',
      'p50 ms',
      'p99 ms',
      'req/s',
      'p50 ×',
      'p99 ×',
      'req/s ×',
      'cpu %',
      'cpu ms/req',
      'cpu/req ×',
      'NATS sent/req',
    ],
  ];
  for (const endpoint of ENDPOINTS) {
    for (const [name, figures] of Object.entries(endpoints[endpoint].servers)) {
      const ratios = endpoints[endpoint].ratiosToNodeHttp[name];
      rows.push([
        name === BARE_FLOOR ? endpoint : '',
        name,
        figures.p50,
        figures.p99,
        figures.requestsPerSecond,
        ratios?.p50 ?? '',
        ratios?.p99 ?? '',
        ratios?.requestsPerSecond ?? '',
        figures.serverCpuPercent,
        figures.serverCpuMsPerRequest,
        ratios?.serverCpuMsPerRequest ?? '',
        figures.natsPerRequest?.gateway.sent ?? '',
      ]);
    }
  }
  printTable(`At ${CONNECTIONS} connections, as ratios to the bare node:http floor answering the same bytes`, rows);
}

function printCreates(creates: Record<string, Figures & { natsPerRequest: MessageCountsByConnection }>): void {
  const rows: (string | number)[][] = [['POST /api/v1/stores', 'posts', 'p50 ms', 'p99 ms', ...NATS_CONNECTIONS]];
  for (const [name, figures] of Object.entries(creates)) {
    const sent = NATS_CONNECTIONS.map((connection) => figures.natsPerRequest[connection].sent);
    rows.push([name, figures.requests, figures.p50, figures.p99, ...sent]);
  }
  printTable(
    'Creates, and the NATS messages each sent per POST by connection (connz; asynchronous work included)',
    rows,
  );
}

/** The gateway and quota, with limits out of the way of the load (they still count every request). */
function benchPlatform(sandbox: Sandbox): Platform {
  return new Platform(sandbox, {
    users,
    services: ['gateway', 'quota'],
    env: {
      LOG_LEVEL: 'warn',
      RATE_LIMIT_USER_PER_MINUTE: '1000000',
      RATE_LIMIT_IP_PER_MINUTE: '1000000',
      RATE_LIMIT_CREATES_PER_MINUTE: '1000000',
      QUOTA_OWNER_OVERRIDES: JSON.stringify({
        bench: { maxActiveStores: 1000000, maxCreatesPerHour: 1000000, maxCreatesPerSourcePerHour: 1000000 },
      }),
      QUOTA_MAX_ACTIVE_STORES: '1000000',
    },
    output: () => undefined,
  });
}

/** The gateway's answer to each endpoint, as the floors will replay it (the create's for a name of its own). */
async function captureAnswers(
  gatewayUrl: string,
  requests: Record<Endpoint, EndpointRequest>,
): Promise<CannedResponses> {
  const captured: CannedResponses = {
    list: await exchange(gatewayUrl, requests.list),
    getOne: await exchange(gatewayUrl, requests.getOne),
    create: await exchange(gatewayUrl, storeCreation('captured-create')),
  };
  for (const endpoint of ENDPOINTS) {
    const { status, body } = captured[endpoint];
    if (status >= 300) throw new Error(`the gateway answered ${endpoint} with ${status}: ${body}`);
  }
  return captured;
}

/** Every floor started, pinned and checked to answer the captured bytes; each is added to `running` once started. */
async function startFloors(
  entries: Record<FloorName, string>,
  cannedFile: string,
  requests: Record<Endpoint, EndpointRequest>,
  canned: CannedResponses,
  running: RunningFloor[],
): Promise<void> {
  for (const name of Object.keys(FLOORS) as FloorName[]) {
    const floor = await startFloor(name, entries[name], cannedFile);
    running.push(floor);
    await verifyFloor(floor, requests, canned);
  }
}

/** One endpoint on every floor, then on the gateway, each figure also as a ratio to the node:http floor's. */
async function compareEndpoint(
  bench: LoadBench,
  floors: readonly ServerUnderTest[],
  description: string,
  request: EndpointRequest,
  canned: CannedResponse,
  volume: Volume,
): Promise<EndpointComparison> {
  log.step(`${description}: ${volume.connections} connections, ${volume.durationS}s per server`);
  const servers: EndpointComparison['servers'] = {};
  for (const floor of floors) servers[floor.name] = await bench.load(floor, request, volume);
  servers['gateway'] = await bench.loadGateway(request, volume);
  const bare = servers[BARE_FLOOR];
  if (!bare) throw new Error('the node:http floor was not measured');
  const others = Object.entries(servers).filter(([name]) => name !== BARE_FLOOR);
  return {
    request: description,
    responseBytes: Buffer.byteLength(canned.body),
    servers,
    ratiosToNodeHttp: Object.fromEntries(others.map(([name, figures]) => [name, ratiosTo(bare, figures)])),
  };
}

/** How many requests POST_NATS_OPERATIONS adds up to for one POST on the `gateway` connection. */
function listedRequestsPerPost(withIdempotencyKey: boolean): number {
  return POST_NATS_OPERATIONS.filter((op) => withIdempotencyKey || !op.idempotencyKeyOnly).reduce(
    (sum, op) => sum + op.requests,
    0,
  );
}

async function main(): Promise<void> {
  const { durationS, stores } = benchOptions();
  const taskset = (await exec('taskset', ['--version'])).stdout.trim();
  // KWOK nodes only: the benchmark measures the platform, not containers.
  const sandbox = new Sandbox({ stateDir: join(repoRoot, '.sandbox', 'bench'), realNode: false });
  await sandbox.down({ purge: true });
  await sandbox.up();
  const platform = benchPlatform(sandbox);
  const floors: RunningFloor[] = [];
  try {
    const { gatewayUrl, metricsUrl, nats } = await platform.start();
    const children = await compileChildren();
    const gatewayPid = pidOf({ pid: platform.pidOf('gateway') }, 'the gateway');
    const gateway: ServerUnderTest = { name: 'gateway', url: gatewayUrl, pid: gatewayPid };
    await pinToCore(gateway.pid, SERVER_CORE);
    const bench = new LoadBench(children.loadGenerator, gateway, nats);
    const concurrently = { connections: CONNECTIONS, durationS };

    log.step(`creating ${stores} stores through the API (${CONNECTIONS} in flight)`);
    const seeded = await bench.loadGateway(storeCreation(`bench-${REQUEST_NUMBER}`), {
      connections: CONNECTIONS,
      amount: stores,
    });
    // Each 202 came after the gateway's own read model had the store, so all of them are listed now.
    const listed = (await (await fetch(`${gatewayUrl}/api/v1/stores?limit=500`, { headers: auth(admin) })).json()) as {
      items: { id: string; name: string }[];
    };

    const requests: Record<Endpoint, EndpointRequest> = {
      list: { method: 'GET', path: '/api/v1/stores', headers: auth(admin) },
      getOne: { method: 'GET', path: `/api/v1/stores/${listed.items[0]?.id ?? 'none'}`, headers: auth(tenant) },
      create: storeCreation(`load-${REQUEST_NUMBER}`),
    };
    log.step("capturing the gateway's answers for the floors to replay");
    const canned = await captureAnswers(gatewayUrl, requests);
    const cannedFile = join(sandbox.stateDir, 'canned-responses.json');
    await writeFile(cannedFile, JSON.stringify(canned));
    await startFloors(children.floors, cannedFile, requests, canned, floors);

    const descriptions: Record<Endpoint, string> = {
      list: `GET /api/v1/stores as admin: the default page, ${Math.min(100, stores)} of ${stores} stores`,
      getOne: 'GET /api/v1/stores/:id as its tenant',
      create: 'POST /api/v1/stores as a tenant, a new name each time',
    };
    const endpoints = {} as Record<Endpoint, EndpointComparison>;
    for (const endpoint of ENDPOINTS) {
      endpoints[endpoint] = await compareEndpoint(
        bench,
        floors,
        descriptions[endpoint],
        requests[endpoint],
        canned[endpoint],
        concurrently,
      );
    }

    log.step('gateway only: /healthz, and 500 stores per page');
    const health = await bench.load(gateway, { method: 'GET', path: '/healthz', headers: {} }, concurrently);
    const listAll = await bench.loadGateway(
      { method: 'GET', path: '/api/v1/stores?limit=500', headers: auth(tenant) },
      concurrently,
    );
    const serverSide = await serverSideMeans(metricsUrl);

    log.step(`${SEQUENTIAL_CREATES} more stores one request at a time, then as many with an Idempotency-Key`);
    const oneAtATime = { connections: 1, amount: SEQUENTIAL_CREATES };
    const creates = {
      [`${CONNECTIONS} in flight`]: seeded,
      'one at a time': await bench.loadGateway(storeCreation(`one-by-one-${REQUEST_NUMBER}`), oneAtATime),
      'one at a time, Idempotency-Key': await bench.loadGateway(
        storeCreation(`idempotent-${REQUEST_NUMBER}`, { 'Idempotency-Key': `bench-${REQUEST_NUMBER}` }),
        oneAtATime,
      ),
    };

    log.step(`${STATUS_EVENTS} status changes to a WebSocket client`);
    const live = await statusToWebSocket(gatewayUrl, nats, listed.items);

    const results = {
      machine: { cores: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', node: process.version },
      pinning: {
        tool: taskset,
        serverCore: SERVER_CORE,
        loadGeneratorCore: LOAD_CORE,
        loadGenerator: 'autocannon, in a child process of its own per run, pinned before it starts',
        coresAllowed: Object.fromEntries([gateway, ...floors].map((server) => [server.name, coresOf(server.pid)])),
        unpinned: 'NATS, quota and the sandbox (etcd, kube-apiserver, KWOK) run on either core',
        niceness: getPriority(),
      },
      storesInReadModel: stores,
      connections: CONNECTIONS,
      durationS,
      floors:
        'each floor answers the three routes with the bytes the gateway sent (status, headers, body; checked before ' +
        "the run), prepared once; the floors and the gateway run with the services' Node.js flags",
      endpoints,
      creates: {
        ...creates,
        natsMessagesMeasuredAs:
          "the NATS server's /connz in_msgs (sent) and out_msgs (received) of each service connection " +
          `(${NATS_CONNECTIONS.join(', ')}), from before the POSTs until every STORES consumer has settled, ` +
          'divided by the POSTs',
        natsOperationsPerPost: POST_NATS_OPERATIONS,
        natsRaceOnTheNewStore: POST_NATS_RACE,
        natsRequestsListedPerPost: {
          withoutIdempotencyKey: listedRequestsPerPost(false),
          withIdempotencyKey: listedRequestsPerPost(true),
        },
      },
      gatewayHealthzMs: health,
      list500PerPageAsTenantMs: listAll,
      statusToWebSocketMs: live,
      serverSideMeanMsByRoute: serverSide,
      rssMb: {
        gateway: residentMegabytes(gateway.pid),
        quota: residentMegabytes(platform.pidOf('quota')),
        ...Object.fromEntries(floors.map((floor) => [floor.name, residentMegabytes(floor.pid)])),
      },
    };
    // Beside, not inside, the benchmark's sandbox: that one is purged at the end.
    await publishResults('gateway', results);
    printComparison(endpoints);
    printCreates(creates);
  } finally {
    for (const floor of floors) floor.process.kill();
    await platform.stop();
    await sandbox.down({ purge: true });
  }
}

main().catch((error: unknown) => {
  console.error(`[bench] error: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
