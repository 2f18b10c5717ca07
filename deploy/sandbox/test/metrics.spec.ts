import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { repoRoot } from '../src/paths';
import { Platform, PLATFORM_NAMESPACE } from '../src/platform';
import { Prometheus } from '../src/prometheus';
import { eventually } from '../src/testing/eventually';
import { testSandbox } from '../src/testing/test-sandbox';
import { SeededUser } from '../src/tokens';

jest.setTimeout(300_000);

const users: SeededUser[] = [
  { name: 'nora-metrics', role: 'tenant', token: 'nora-metrics-test-token-0000000' },
  { name: 'otto-metrics', role: 'tenant', token: 'otto-metrics-test-token-0000000' },
];
const [nora, otto] = users as [SeededUser, SeededUser];
/** Nora's six creates fit the per-user create limit; Otto's seventh in a minute is refused. */
const CREATES_PER_MINUTE = 6;

interface StoreView {
  readonly id: string;
  readonly name: string;
  readonly step: string;
  readonly reason?: string;
}

/**
 * The platform's metrics as a real Prometheus scrapes them from every service: a few store lifecycles (one failing on
 * purpose, one over quota, one deleted, one retried with its Idempotency-Key, a burst of invalid creates over the
 * rate limit), then PromQL over what was scraped must tell exactly that story.
 */
describe('platform metrics, scraped by Prometheus', () => {
  const sandbox = testSandbox();
  const platform = new Platform(sandbox, {
    users,
    env: {
      LOG_LEVEL: 'warn',
      RESYNC_SECONDS: '5',
      QUOTA_MAX_ACTIVE_STORES_PER_OWNER: '4',
      RATE_LIMIT_CREATES_PER_MINUTE: String(CREATES_PER_MINUTE),
    },
    output: () => undefined,
  });
  let prometheus: Prometheus;
  let gatewayUrl = '';
  const run = Date.now().toString(36).slice(-5);
  const name = (store: string) => `metrics-${run}-${store}`;
  const created: StoreView[] = [];
  let live: WebSocket | undefined;

  const api = async (user: SeededUser, method: string, path: string, body?: unknown, key?: string) => {
    const res = await fetch(`${gatewayUrl}${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${user.token}`,
        'Content-Type': 'application/json',
        ...(key ? { 'Idempotency-Key': key } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as StoreView };
  };
  const create = async (store: string, key?: string) => {
    const answer = await api(nora, 'POST', '/api/v1/stores', { name: name(store), engine: 'woocommerce' }, key);
    expect(answer.status).toBe(202);
    created.push(answer.body);
    return answer.body;
  };
  const reaches = (store: StoreView, step: string) =>
    eventually(
      async () => expect((await api(nora, 'GET', `/api/v1/stores/${store.id}`)).body.step).toBe(step),
      120_000,
    );
  const value = (expr: string) => prometheus.value(expr);

  beforeAll(async () => {
    ({ gatewayUrl } = await platform.start());
    // Labelled as the chart's PodMonitor labels them in the platform's namespace.
    prometheus = await Prometheus.start({
      targets: platform.scrapeTargets(),
      labels: { namespace: PLATFORM_NAMESPACE },
    });
  });

  afterAll(async () => {
    live?.close();
    for (const store of created) await api(nora, 'DELETE', `/api/v1/stores/${store.id}`).catch(() => undefined);
    await sandbox.kubectl(['delete', 'namespace', '--ignore-not-found', '--wait=false', `store-${name('taken')}`]);
    await prometheus?.stop();
    await platform.stop();
  });

  it('scrapes every service', async () => {
    await eventually(async () =>
      expect(Object.values(await prometheus.targetHealth())).toEqual(['up', 'up', 'up', 'up']),
    );
    expect(await value('count(up == 1)')).toBe(4);
  });

  it('counts what happened to a few stores, as it happened', async () => {
    // A namespace the platform did not make: the store that wants it fails, and says why.
    await sandbox.kubectl(['create', 'namespace', `store-${name('taken')}`]);
    const [first, second, taken] = [await create('first'), await create('second'), await create('taken')];
    await Promise.all([reaches(first, 'ready'), reaches(second, 'ready'), reaches(taken, 'failed')]);
    // A fourth fits (created twice with one key: the retry is a replay); a fifth not, the failed store keeping its slot.
    const key = randomUUID();
    const fourth = await create('fourth', key);
    expect((await create('fourth', key)).id).toBe(fourth.id);
    const fifth = await create('fifth');
    await Promise.all([reaches(fourth, 'ready'), reaches(fifth, 'rejected')]);
    expect((await api(nora, 'DELETE', `/api/v1/stores/${first.id}`)).status).toBe(202);
    // Deleted: gone from the read model.
    await eventually(
      async () => expect((await api(nora, 'GET', `/api/v1/stores/${first.id}`)).status).toBe(404),
      120_000,
    );
    // Invalid creates are refused by validation until the create limit refuses them first.
    const refusals = [];
    for (let i = 0; i <= CREATES_PER_MINUTE; i++) {
      refusals.push((await api(otto, 'POST', '/api/v1/stores', { name: 'Not A Name', engine: 'woocommerce' })).status);
    }
    expect(refusals).toEqual([...Array<number>(CREATES_PER_MINUTE).fill(400), 429]);
    live = new WebSocket(`${gatewayUrl.replace(/^http/, 'ws')}/api/v1/live`, {
      headers: { Authorization: `Bearer ${nora.token}` },
    });
    await new Promise((resolve, reject) => live!.once('open', resolve).once('error', reject));

    await eventually(async () => {
      // Five creates ran; the retry with the fourth's key was answered from the idempotency store, a replay.
      expect(await value('sum(urumi_store_requests_total{action="store.create",outcome="accepted"})')).toBe(5);
      expect(await value('sum(urumi_store_requests_total{action="store.create",reason="BadRequest"})')).toBe(6);
      expect(await value('sum(urumi_store_requests_total{action="store.delete",outcome="accepted"})')).toBe(1);
      expect(await value('sum(urumi_rate_limit_refusals_total{throttler="creates"})')).toBe(1);
      expect(await value('sum(urumi_idempotency_replays_total)')).toBe(1);
      expect(await value('sum(urumi_quota_decisions_total{outcome="approved"})')).toBe(4);
      expect(await value('sum(urumi_quota_decisions_total{outcome="rejected",reason="QuotaExceeded"})')).toBe(1);
      expect(await value('sum(urumi_quota_slots_freed_total)')).toBe(1);
      expect(await value('sum(urumi_store_provisioning_duration_seconds_count{engine="woocommerce"})')).toBe(3);
      expect(await value('sum(urumi_store_failures_total{engine="woocommerce",reason="NamespaceNotOwned"})')).toBe(1);
      expect(await value('sum(urumi_store_deletions_total{engine="woocommerce"})')).toBe(1);
      expect(await value('sum(urumi_store_teardown_duration_seconds_count)')).toBe(1);
      expect(await value('max(urumi_stores{step="ready",engine="woocommerce"})')).toBe(2);
      expect(await value('max(urumi_stores{step="failed"})')).toBe(1);
      expect(await value('max(urumi_stores{step="rejected"})')).toBe(1);
      expect(await value('max(urumi_live_connections)')).toBe(1);
    }, 30_000);

    // Each of the three Ready stores took every step once; the failed one failed straight after its approval.
    const steps = await prometheus.query('sum by (step) (urumi_store_provisioning_step_duration_seconds_count)');
    expect(Object.fromEntries(steps.map((s) => [s.metric['step'], s.value]))).toEqual({
      'namespace-ready': 3,
      'secrets-ready': 3,
      'workload-installed': 3,
      ready: 3,
      failed: 1,
    });
    // At least once per Ready store (a reconcile retried after a conflicting status write installs again).
    expect(
      await value('sum(urumi_helm_command_duration_seconds_count{job="provisioner",command="upgrade"})'),
    ).toBeGreaterThanOrEqual(3);
    expect(await value('sum(urumi_helm_command_failures_total) or vector(0)')).toBe(0);
    expect(await value('max(urumi_store_provisioning_oldest_age_seconds)')).toBe(0);
  });

  it('tells each Store its story in Kubernetes Events, as kubectl describe shows it', async () => {
    /** The reasons in the Events section of `kubectl describe store`, top to bottom, with their types. */
    const described = async (store: string) => {
      const out = await sandbox.kubectl(['describe', 'store', name(store)]);
      const events = out.split('\nEvents:\n')[1] ?? '';
      return [...events.matchAll(/^\s+(Normal|Warning)\s+(\S+)\s+\S+\s+urumi\.dev\/([a-z]+)/gm)].map(
        ([, type, reason, from]) => `${type} ${reason} (${from})`,
      );
    };
    await eventually(async () =>
      expect(await described('second')).toEqual([
        'Normal Approved (provisioner)',
        'Normal NamespaceReady (provisioner)',
        'Normal SecretsReady (provisioner)',
        'Normal WorkloadInstalled (provisioner)',
        'Normal StoreReady (provisioner)',
      ]),
    );
    expect(await described('taken')).toEqual([
      'Normal Approved (provisioner)',
      'Warning NamespaceNotOwned (provisioner)',
    ]);
    // The deleted store is gone, its Events not: found by its name, the last two cleanup's.
    const events = JSON.parse(
      await sandbox.kubectl([
        'get',
        'events',
        '-n',
        'default',
        '--field-selector',
        `involvedObject.kind=Store,involvedObject.name=${name('first')}`,
        '-o',
        'json',
      ]),
    ) as { items: { reason: string; eventTime: string; reportingComponent: string; message: string }[] };
    const story = events.items
      .sort((a, b) => a.eventTime.localeCompare(b.eventTime))
      .map((e) => `${e.reason} (${e.reportingComponent})`);
    expect(story.slice(-2)).toEqual(['Deleting (urumi.dev/cleanup)', 'Deleted (urumi.dev/cleanup)']);
    expect(story).toContain('StoreReady (urumi.dev/provisioner)');
    // No credential in any Event the platform wrote.
    const secret = JSON.parse(
      await sandbox.kubectl(['get', 'secret', 'store-credentials', '-n', `store-${name('second')}`, '-o', 'json']),
    ) as { data: Record<string, string> };
    const all = await sandbox.kubectl(['get', 'events', '-n', 'default', '-o', 'json']);
    const values = Object.values(secret.data).map((value) => Buffer.from(value, 'base64').toString('utf8'));
    expect(values.length).toBeGreaterThan(0);
    expect(values.filter((value) => all.includes(value))).toEqual([]);
  });

  it('shows the work queues, the consumers and the leaders', async () => {
    expect(await value('sum(urumi_leader_election_is_leader)')).toBe(2);
    const reconciles = await prometheus.query('sum by (queue) (urumi_reconcile_duration_seconds_count)');
    expect(Object.fromEntries(reconciles.map((s) => [s.metric['queue'], s.value > 0]))).toEqual({
      cleanup: true,
      provisioner: true,
    });
    const consumers = await prometheus.query('max by (job, consumer) (urumi_jetstream_consumer_pending_messages)');
    expect(new Set(consumers.map((s) => s.metric['job']))).toEqual(new Set(['quota', 'provisioner', 'cleanup']));
    await eventually(async () => {
      expect(await value('max(urumi_jetstream_consumer_pending_messages)')).toBe(0);
      expect(await value('max(urumi_jetstream_consumer_ack_pending_messages)')).toBe(0);
    });
    expect(await value('sum(urumi_jetstream_messages_handled_total{outcome="ack"})')).toBeGreaterThan(0);
    expect(await value('count(urumi_deadletter_messages)')).toBe(3);
  });

  it("answers every query of the chart's Grafana dashboard", async () => {
    const dashboard = JSON.parse(readFileSync(join(repoRoot, 'charts/platform/monitoring/dashboard.json'), 'utf8')) as {
      panels: { title: string; targets: { expr: string }[] }[];
    };
    const empty: string[] = [];
    for (const panel of dashboard.panels) {
      for (const { expr } of panel.targets) {
        // Grafana's variables as it fills them in: this namespace, and a rate window of a few scrapes.
        const query = expr.replaceAll('$namespace', PLATFORM_NAMESPACE).replaceAll('$__rate_interval', '1m');
        if ((await prometheus.query(query)).length === 0) empty.push(`${panel.title}: ${query}`);
      }
    }
    expect(empty).toEqual([]);
  });
});
