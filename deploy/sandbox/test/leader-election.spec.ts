import { CoordinationV1Api, KubeConfig } from '@kubernetes/client-node';
import type { V1Lease } from '@kubernetes/client-node';
import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { repoRoot } from '../src/paths';
import { OperatorName, Platform, PLATFORM_NAMESPACE } from '../src/platform';
import { eventually } from '../src/testing/eventually';
import { testSandbox } from '../src/testing/test-sandbox';

jest.setTimeout(300_000);

/** Short leases, so a failover takes seconds (production: 15 / 10 / 2). */
const LEASE_MS = 3_000;
const RETRY_MS = 500;
const TIMING = { LEASE_DURATION_SECONDS: '3', RENEW_DEADLINE_SECONDS: '2', RETRY_PERIOD_SECONDS: '0.5' };
/** Between a service writing a log line and this process reading it. */
const LOG_SLACK_MS = 250;

/** What the leader's work logs (the reconciler's, teardown's and sweep's lines, but not their start and stop). */
const WORK_CONTEXTS = new Set(['StoreReconciler', 'Teardown', 'OrphanSweep']);
const NOT_WORK = new Set([
  'Reconciling stores',
  'Stopped reconciling stores',
  'Tearing down deleted stores',
  'Stopped tearing down stores',
  'Watch failed, restarting it',
]);

interface LogLine {
  /** When this process read it. */
  readonly at: number;
  /** The process that wrote it: its identity in the Lease (POD_NAME and a random suffix). */
  readonly identity: string;
  readonly service: OperatorName;
  readonly msg: string;
  readonly context?: string;
  readonly fields: Record<string, unknown>;
}

/**
 * Two provisioners and two cleanups against the sandbox's API server, each process under its service's own
 * ServiceAccount (the chart's RBAC and admission policy), electing a leader on their Lease: exactly one of each acts;
 * a SIGKILLed leader is replaced once its Lease expires, a SIGTERMed one hands over at once, and one stopped (SIGSTOP)
 * for longer than its Lease does nothing more once resumed. Whether two ever acted at once is judged from the Lease's
 * holder, sampled all along, against every line of work each process logged.
 */
describe('leader election of the provisioner and cleanup (two replicas each)', () => {
  const sandbox = testSandbox();
  const raw: string[] = [];
  const lines: LogLine[] = [];
  /** The last identity each instance stood for the Lease with (each launch has a new one). */
  const identityOf = new Map<string, string>();
  const sut = new Platform(sandbox, {
    services: ['gateway', 'provisioner', 'cleanup'],
    replicas: { provisioner: 2, cleanup: 2 },
    env: { ...TIMING, LOG_LEVEL: 'info', RESYNC_SECONDS: '5', SWEEP_SECONDS: '2' },
    // Every status write and fence apply is logged at debug: a stale leader's silent writes would show.
    serviceEnv: { provisioner: { LOG_LEVEL: 'debug' } },
    output: (line) => record(line),
  });
  const leases = (() => {
    const config = new KubeConfig();
    config.loadFromFile(sandbox.kubeconfig);
    return config.makeApiClient(CoordinationV1Api);
  })();
  /** The Leases' holders as sampled every 100 ms: who may act when. */
  const holders: Record<OperatorName, { at: number; holder: string }[]> = { provisioner: [], cleanup: [] };
  let sampling = true;
  let sampler: Promise<void> = Promise.resolve();
  const stores: string[] = [];
  /** Store names of this run's own (a run that died may have left its Stores). */
  const run = Date.now().toString(36).slice(-5);
  const names = {
    first: `le-${run}-first`,
    afterKill: `le-${run}-after-kill`,
    whileStopped: `le-${run}-while-stopped`,
    blocked: `le-${run}-blocked`,
  };
  const failovers: Record<string, number> = {};

  function record(line: string): void {
    raw.push(line);
    const match = /^\[(provisioner|cleanup)(?:-(\d+))?\] (\{.*\})$/.exec(line);
    if (!match) return;
    const [, service, replica = '0', json] = match;
    const instance = `${service}-${replica}`;
    let fields: Record<string, unknown>;
    try {
      fields = JSON.parse(json!) as Record<string, unknown>;
    } catch {
      return;
    }
    if (fields['msg'] === 'Standing for leader') identityOf.set(instance, String(fields['identity']));
    lines.push({
      at: Date.now(),
      identity: identityOf.get(instance) ?? instance,
      service: service as OperatorName,
      msg: String(fields['msg'] ?? ''),
      context: fields['context'] as string | undefined,
      fields,
    });
  }

  const lease = async (service: OperatorName): Promise<V1Lease> =>
    leases.readNamespacedLease({ namespace: PLATFORM_NAMESPACE, name: `urumi-${service}` });
  const holder = async (service: OperatorName) => (await lease(service)).spec?.holderIdentity ?? '';
  /** The replica whose process holds the Lease (its POD_NAME is `<service>-<replica>`). */
  const replicaOf = (identity: string) => Number(/-(\d+)_[0-9a-f]{8}$/.exec(identity)?.[1]);
  const leaderOf = async (service: OperatorName) =>
    eventually(
      async () => {
        const identity = await holder(service);
        expect(identity).toMatch(new RegExp(`^${service}-\\d+_`));
        return { identity, replica: replicaOf(identity) };
      },
      30_000,
      100,
    );
  const started = (identity: string) => lines.find((l) => l.identity === identity && l.msg === 'Started leading');
  /** The provisioner replica that has taken over from `before`, once it has said it started leading. */
  const newProvisionerLeader = (before: { identity: string }) =>
    eventually(
      async () => {
        const now = await leaderOf('provisioner');
        expect(now.identity).not.toBe(before.identity);
        expect(started(now.identity)).toBeDefined();
        return now;
      },
      30_000,
      100,
    );
  const work = () => lines.filter((l) => l.context && WORK_CONTEXTS.has(l.context) && !NOT_WORK.has(l.msg));

  const storeManifest = (name: string) => ({
    apiVersion: 'urumi.dev/v1',
    kind: 'Store',
    metadata: { name, finalizers: ['urumi.dev/teardown'] },
    spec: { storeId: randomUUID(), engine: 'woocommerce', owner: 'paul', domain: `${name}.127.0.0.1.nip.io` },
  });
  const createStore = async (name: string) => {
    stores.push(name);
    await sandbox.kubectl(['create', '-f', '-'], JSON.stringify(storeManifest(name)));
  };
  const namespaceExists = async (name: string) =>
    (await sandbox.kubectl(['get', 'namespace', '--ignore-not-found', '-o', 'name', name])).trim() !== '';
  /** Who logged work for a store. */
  const workersOn = (store: string) =>
    new Set(
      work()
        .filter((l) => l.fields['store'] === store)
        .map((l) => l.identity),
    );
  const gauge = async (service: OperatorName, replica: number) => {
    const text = await (await fetch(`${sut.urlOf(service, replica)}/metrics`)).text();
    return Number(/^urumi_leader_election_is_leader\{[^}]*\} (\d)$/m.exec(text)?.[1]);
  };

  beforeAll(async () => {
    await sut.start();
    sampler = (async () => {
      while (sampling) {
        for (const service of ['provisioner', 'cleanup'] as const) {
          const identity = await holder(service).catch(() => undefined);
          if (identity !== undefined) holders[service].push({ at: Date.now(), holder: identity });
        }
        await sleep(100);
      }
    })();
  });

  afterAll(async () => {
    // Cleanup's leader tears the stores down (the finalizer), while the platform still runs.
    await sandbox
      .kubectl(['delete', 'stores.urumi.dev', ...stores, '--ignore-not-found', '--timeout=90s'])
      .catch(() => undefined);
    await sandbox
      .kubectl(['delete', 'namespace', `store-${names.blocked}`, '--ignore-not-found', '--wait=false'])
      .catch(() => undefined);
    sampling = false;
    await sampler;
    await sut.stop();
    process.stdout.write(`leader failover (ms): ${JSON.stringify(failovers)}\n`);
    await mkdir(join(repoRoot, '.sandbox', 'logs'), { recursive: true });
    await writeFile(join(repoRoot, '.sandbox', 'logs', 'leader-election-test.log'), `${raw.join('\n')}\n`);
  });

  beforeEach(async () => {
    // Whatever a failed test left down is back, as a standby, before the next one.
    for (const service of ['provisioner', 'cleanup'] as const) {
      for (const replica of [0, 1]) if (sut.pidOf(service, replica) === undefined) await sut.launch(service, replica);
    }
  });

  it('lets exactly one replica of each lead; the other stands by, ready', async () => {
    for (const service of ['provisioner', 'cleanup'] as const) {
      const { identity, replica } = await leaderOf(service);
      const leading = lines.filter((l) => l.service === service && l.msg === 'Started leading');
      expect(leading.map((l) => l.identity)).toEqual([identity]);
      for (const r of [0, 1]) {
        expect([service, r, (await fetch(`${sut.urlOf(service, r)}/readyz`)).status]).toEqual([service, r, 200]);
        expect([service, r, await gauge(service, r)]).toEqual([service, r, r === replica ? 1 : 0]);
      }
    }
  });

  it('has the leader alone reconcile a new Store', async () => {
    const { identity } = await leaderOf('provisioner');
    await createStore(names.first);

    await eventually(async () => expect(await namespaceExists(`store-${names.first}`)).toBe(true), 60_000, 200);

    await eventually(() => expect(workersOn(names.first)).toEqual(new Set([identity])), 10_000, 200);
  });

  it('replaces a SIGKILLed leader once its Lease has expired, and the new leader reconciles', async () => {
    const before = await leaderOf('provisioner');
    const killedAt = Date.now();
    await sut.kill('provisioner', before.replica);
    await createStore(names.afterKill);

    const after = await newProvisionerLeader(before);
    await eventually(async () => expect(await namespaceExists(`store-${names.afterKill}`)).toBe(true), 60_000, 200);
    const reconciledAt = Date.now();

    const takeover = started(after.identity)!.at - killedAt;
    failovers['sigkill: kill → new leader'] = takeover;
    failovers['sigkill: kill → its Store namespace made'] = reconciledAt - killedAt;
    // It waited for the Lease to expire (renewed up to one retry period before the kill), and not much longer.
    expect(takeover).toBeGreaterThanOrEqual(LEASE_MS - RETRY_MS - LOG_SLACK_MS);
    expect(takeover).toBeLessThanOrEqual(LEASE_MS + 3 * RETRY_MS + 2_000);
    // Its log lines may follow the namespace by a moment.
    await eventually(() => expect(workersOn(names.afterKill)).toEqual(new Set([after.identity])), 10_000, 200);
    expect((await lease('provisioner')).spec?.leaseTransitions).toBeGreaterThanOrEqual(1);

    await sut.launch('provisioner', before.replica);
    await sleep(2 * LEASE_MS);
    expect((await leaderOf('provisioner')).identity).toBe(after.identity);
  });

  it('hands the Lease over at once when the leader is stopped cleanly (SIGTERM)', async () => {
    const before = await leaderOf('provisioner');
    const transitions = (await lease('provisioner')).spec?.leaseTransitions ?? 0;
    const stoppedAt = Date.now();
    await sut.terminate('provisioner', before.replica);

    const after = await newProvisionerLeader(before);

    const takeover = started(after.identity)!.at - stoppedAt;
    failovers['sigterm: stop → new leader'] = takeover;
    // The standby found the Lease released (no holder) before it took it.
    const released = lines.filter((l) => l.identity === after.identity && l.at >= stoppedAt);
    expect(released.map((l) => l.msg)).toContain('No leader: the lease was released');
    // Sooner than the Lease could have expired: it was released, not waited out.
    expect(takeover).toBeLessThan(LEASE_MS);
    expect((await lease('provisioner')).spec).toMatchObject({
      holderIdentity: after.identity,
      leaseTransitions: transitions + 1,
    });

    await sut.launch('provisioner', before.replica);
  });

  it('keeps a leader stopped (SIGSTOP) past its Lease from acting once resumed; the other took over', async () => {
    const stale = await leaderOf('provisioner');
    sut.suspend('provisioner', 'SIGSTOP', stale.replica);
    const stoppedAt = Date.now();
    try {
      const after = await newProvisionerLeader(stale);
      failovers['sigstop: stop → new leader'] = started(after.identity)!.at - stoppedAt;
      // Work the stale leader will hear of as soon as it runs again: a store to provision, and one whose every
      // reconcile fails (and says so) because an earlier store's namespace still has its name.
      await createStore(names.whileStopped);
      await sandbox.kubectl(
        ['create', '-f', '-'],
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: {
            name: `store-${names.blocked}`,
            labels: { 'app.kubernetes.io/managed-by': 'urumi', 'urumi.dev/store-id': 'an-earlier-store' },
          },
        }),
      );
      await createStore(names.blocked);
      await eventually(() => expect(workersOn(names.blocked)).toEqual(new Set([after.identity])), 30_000, 200);
      await eventually(
        async () => expect(await namespaceExists(`store-${names.whileStopped}`)).toBe(true),
        60_000,
        200,
      );
      await sleep(Math.max(0, stoppedAt + 2 * LEASE_MS - Date.now()));
    } finally {
      sut.suspend('provisioner', 'SIGCONT', stale.replica);
    }
    const resumedAt = Date.now();
    await sleep(2 * LEASE_MS);

    const fromStale = lines.filter((l) => l.identity === stale.identity && l.at >= resumedAt);
    expect(fromStale.map((l) => l.msg)).toContain('Stopped leading');
    expect(fromStale.filter((l) => work().includes(l))).toEqual([]);
    expect(fromStale.map((l) => l.msg)).not.toContain('Started leading');
    expect(workersOn(names.whileStopped)).not.toContain(stale.identity);
    expect(workersOn(names.blocked)).not.toContain(stale.identity);
    expect((await leaderOf('provisioner')).identity).not.toBe(stale.identity);
  });

  it('has clean-up done by its leader alone', async () => {
    const { identity } = await leaderOf('cleanup');
    await sandbox.kubectl(['delete', 'stores.urumi.dev', names.first, '--timeout=90s']);

    await eventually(async () => expect(await namespaceExists(`store-${names.first}`)).toBe(false), 90_000, 250);

    const teardown = work().filter((l) => l.service === 'cleanup' && l.fields['store'] === names.first);
    expect(teardown.map((l) => l.msg)).toContain('Store deleted');
    expect(new Set(teardown.map((l) => l.identity))).toEqual(new Set([identity]));
  });

  it('never had two replicas act at once: each line of work came while the Lease named its writer', () => {
    const work_ = work();
    expect(work_.length).toBeGreaterThan(0);
    for (const line of work_) {
      const samples = holders[line.service];
      const startedAt = started(line.identity)?.at ?? Infinity;
      // Once the Lease named another holder after this process began leading, it did no more work.
      const supplanted =
        samples.find((s) => s.at > startedAt && s.holder && s.holder !== line.identity)?.at ?? Infinity;
      expect([line.identity, line.msg, line.at >= startedAt - LOG_SLACK_MS]).toEqual([line.identity, line.msg, true]);
      expect([line.identity, line.msg, line.at <= supplanted + LOG_SLACK_MS]).toEqual([line.identity, line.msg, true]);
    }
  });
});
