import autocannon from 'autocannon';
import { spawn } from 'node:child_process';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { connect, headers } from 'nats';
import WebSocket from 'ws';
import { create, encode, Engine, Step, StoreStatusChangedSchema, subjects, timestampNow } from '@urumi/contracts';
import { compileFile } from '../compile';
import { log } from '../log';
import { repoRoot } from '../paths';
import { Platform, PlatformNats } from '../platform';
import { freePort } from '../ports';
import { get, waitUntil } from '../probe';
import { Sandbox } from '../sandbox';
import { SeededUser } from '../tokens';
import { percentile, publishResults, residentMegabytes, round } from './stats';

const STORES = 1_000;
const CONNECTIONS = 50;
const DURATION_S = 10;
const STATUS_EVENTS = 200;

const admin: SeededUser = { name: 'bench-admin', role: 'admin', token: 'bench-admin-token-0000000000000' };
const tenant: SeededUser = { name: 'bench', role: 'tenant', token: 'bench-tenant-token-000000000000' };
const users = [admin, tenant];
const auth = (user: SeededUser) => ({ Authorization: `Bearer ${user.token}` });

interface Latencies {
  p50: number;
  p99: number;
  requestsPerSecond: number;
  errors: number;
}

async function load(url: string, requestHeaders: Record<string, string> = {}): Promise<Latencies> {
  const result = await autocannon({ url, connections: CONNECTIONS, duration: DURATION_S, headers: requestHeaders });
  return {
    p50: result.latency.p50,
    p99: result.latency.p99,
    requestsPerSecond: round(result.requests.average),
    errors: result.errors + result.non2xx,
  };
}

/** POSTs `count` stores, `inFlight` at a time; each answer is 202 once the command is in JetStream. */
async function createStores(
  gatewayUrl: string,
  prefix: string,
  count: number,
  inFlight: number,
): Promise<{ p50: number; p99: number; failures: number }> {
  const latencies: number[] = [];
  let next = 0;
  let failures = 0;
  const worker = async () => {
    while (next < count) {
      const n = next++;
      const started = performance.now();
      const res = await fetch(`${gatewayUrl}/api/v1/stores`, {
        method: 'POST',
        headers: { ...auth(tenant), 'Content-Type': 'application/json' },
        body: JSON.stringify({ name: `${prefix}-${n}`, engine: n % 2 ? 'medusa' : 'woocommerce' }),
      });
      await res.arrayBuffer();
      latencies.push(performance.now() - started);
      if (res.status !== 202) failures++;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return { p50: round(percentile(latencies, 50)), p99: round(percentile(latencies, 99)), failures };
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

async function main(): Promise<void> {
  // KWOK nodes only: the benchmark measures the platform, not containers.
  const sandbox = new Sandbox({ stateDir: join(repoRoot, '.sandbox', 'bench'), realNode: false });
  await sandbox.down({ purge: true });
  await sandbox.up();
  const platform = new Platform(sandbox, {
    users,
    services: ['gateway', 'quota'],
    env: {
      LOG_LEVEL: 'warn',
      RATE_LIMIT_USER_PER_MINUTE: '1000000',
      RATE_LIMIT_IP_PER_MINUTE: '1000000',
      RATE_LIMIT_CREATES_PER_MINUTE: '1000000',
      QUOTA_OWNER_OVERRIDES: JSON.stringify({
        bench: { maxActiveStores: 100000, maxCreatesPerHour: 100000, maxCreatesPerSourcePerHour: 100000 },
      }),
      QUOTA_MAX_ACTIVE_STORES: '100000',
    },
    output: () => undefined,
  });
  const barePort = await freePort();
  // Compiled like the services, so the two are compared on equal terms.
  const { target: bareEntry } = await compileFile(join(__dirname, 'bare-nest.ts'));
  const bare = spawn(process.execPath, [bareEntry], {
    cwd: repoRoot,
    env: { ...process.env, PORT: String(barePort) },
    stdio: 'ignore',
  });
  try {
    const { gatewayUrl, metricsUrl, nats } = await platform.start();
    const bareUrl = `http://127.0.0.1:${barePort}/ping`;
    await waitUntil('the bare NestJS app did not start', async () => (await get(bareUrl)).status === 200, 30_000);

    log.step(`creating ${STORES} stores through the API (${CONNECTIONS} in flight)`);
    const creates = await createStores(gatewayUrl, 'bench', STORES, CONNECTIONS);
    // Each 202 came after the gateway's own read model had the store, so all of them are listed now.
    const listed = (await (await fetch(`${gatewayUrl}/api/v1/stores?limit=500`, { headers: auth(admin) })).json()) as {
      items: { id: string; name: string }[];
    };

    log.step(`GET /api/v1/stores at ${CONNECTIONS} connections for ${DURATION_S}s each`);
    const bareNest = await load(bareUrl);
    const listPage = await load(`${gatewayUrl}/api/v1/stores`, auth(admin));
    const listAll = await load(`${gatewayUrl}/api/v1/stores?limit=500`, auth(tenant));
    const health = await load(`${gatewayUrl}/healthz`);
    const getOne = await load(`${gatewayUrl}/api/v1/stores/${listed.items[0]?.id ?? 'none'}`, auth(tenant));

    const serverSide = await serverSideMeans(metricsUrl);
    log.step('200 more stores, one request at a time');
    const sequentialCreates = await createStores(gatewayUrl, 'one-by-one', 200, 1);

    log.step(`${STATUS_EVENTS} status changes to a WebSocket client`);
    const live = await statusToWebSocket(gatewayUrl, nats, listed.items);

    const results = {
      machine: { cores: cpus().length, node: process.version },
      storesInReadModel: STORES,
      connections: CONNECTIONS,
      bareNestPingMs: bareNest,
      gatewayHealthzMs: health,
      getOneStoreAsTenantMs: getOne,
      listDefaultPageOf100AsAdminMs: listPage,
      list500PerPageAsTenantMs: listAll,
      createAcceptedAt50InFlightMs: creates,
      createAcceptedOneAtATimeMs: sequentialCreates,
      statusToWebSocketMs: live,
      serverSideMeanMsByRoute: serverSide,
      rssMb: {
        gateway: residentMegabytes(platform.pidOf('gateway')),
        quota: residentMegabytes(platform.pidOf('quota')),
        bareNest: residentMegabytes(bare.pid),
      },
    };
    // Beside, not inside, the benchmark's sandbox: that one is purged at the end.
    await publishResults('gateway', results);
  } finally {
    bare.kill();
    await platform.stop();
    await sandbox.down({ purge: true });
  }
}

main().catch((error: unknown) => {
  console.error(`[bench] error: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
