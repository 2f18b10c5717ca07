import { Step, stepSlug, subjects } from '@urumi/contracts';
import { eventually, Platform, type PlatformNats, type SeededUser, testSandbox } from '@urumi/sandbox';
import { randomBytes } from 'node:crypto';
import { AckPolicy, connect, type NatsConnection } from 'nats';
import { subscribe } from './subscriber';

jest.setTimeout(300_000);

/**
 * The example subscriber against the platform as it runs: the chart's nats.conf (its read-only `subscriber` user among
 * the services' users), the four services, and stores created and deleted through the API.
 */
describe('the example store subscriber (examples/store-subscriber)', () => {
  const tenant: SeededUser = { name: 'sam-subscriber', role: 'tenant', token: randomBytes(24).toString('hex') };
  const platform = new Platform(testSandbox(), {
    users: [tenant],
    env: { LOG_LEVEL: 'warn', RESYNC_SECONDS: '5' },
    output: () => undefined,
  });
  let gatewayUrl = '';
  let nats: PlatformNats;

  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${gatewayUrl}${path}`, {
      method,
      headers: { Authorization: `Bearer ${tenant.token}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as { id: string; step: string } };
  };
  const asSubscriber = async <T>(act: (connection: NatsConnection) => Promise<T>): Promise<T> => {
    const connection = await connect({ servers: nats.url, user: 'subscriber', pass: nats.passwords['subscriber'] });
    try {
      return await act(connection);
    } finally {
      await connection.close();
    }
  };
  /** What NATS answers a request the subscriber may not publish: its permission violation, not a timeout. */
  const violation = (subject: string) =>
    new RegExp(`Permissions Violation for Publish to "${subject.replace(/[.*+?^${}()|[\]\\$>]/g, '\\$&')}"`);

  beforeAll(async () => {
    ({ gatewayUrl, nats } = await platform.start());
  });

  afterAll(() => platform.stop());

  it("sees a store's whole life in order, and resumes after a restart missing and repeating nothing it acknowledged", async () => {
    const name = `sub-${randomBytes(3).toString('hex')}`;
    const seen: { subject: string; sequence: number }[] = [];
    /** Runs the subscriber until it has acknowledged the store's event of step `until`. */
    const runUntil = async (until: Step, started?: () => Promise<void>) => {
      const stop = new AbortController();
      const running = subscribe({
        servers: nats.url,
        password: nats.passwords['subscriber']!,
        signal: stop.signal,
        onEvent: (event, meta) => {
          if (event.name !== name) return;
          seen.push(meta);
          if (event.step === until) stop.abort();
        },
      });
      await started?.();
      await running;
    };

    let id = '';
    await runUntil(Step.NAMESPACE_READY, async () => {
      // Once its durable consumer exists (from the events after it), the store is asked for.
      await eventually(() =>
        asSubscriber(async (c) => (await c.jetstreamManager()).consumers.info('STORES', 'store-subscriber')),
      );
      const created = await api('POST', '/api/v1/stores', { name, engine: 'woocommerce' });
      expect(created.status).toBe(202);
      id = created.body.id;
    });
    const acknowledged = seen.length;
    // While it is down, the store becomes Ready and is deleted.
    await eventually(async () => expect((await api('GET', `/api/v1/stores/${id}`)).body.step).toBe('ready'), 120_000);
    expect((await api('DELETE', `/api/v1/stores/${id}`)).status).toBe(202);
    await eventually(async () => expect((await api('GET', `/api/v1/stores/${id}`)).status).toBe(404), 120_000);
    await runUntil(Step.DELETED);

    expect(acknowledged).toBe(2);
    expect(seen.map((event) => event.subject)).toEqual(
      [Step.APPROVED, Step.NAMESPACE_READY, Step.SECRETS_READY, Step.WORKLOAD_INSTALLED, Step.READY, Step.DELETED].map(
        (step) => `store.status.${stepSlug(step)}`,
      ),
    );
    const sequences = seen.map((event) => event.sequence);
    expect(sequences).toEqual([...sequences].sort((a, b) => a - b));
    expect(new Set(sequences).size).toBe(sequences.length);
  });

  it('may read store.status.> through its own durable consumers and nothing else', async () => {
    await asSubscriber(async (c) => {
      const manager = await c.jetstreamManager();
      const refused = (subject: string, act: () => Promise<unknown>) =>
        expect(act()).rejects.toThrow(violation(subject));
      // No publishing: no commands, no status, no dead letters.
      for (const subject of [subjects.createStore, subjects.status(Step.APPROVED), 'deadletter.store.cmd.create']) {
        await refused(subject, () => c.jetstream().publish(subject, 'forged', { timeout: 2_000 }));
      }
      // Its own consumer may not read the commands, nor everything.
      for (const filter of [subjects.commands, 'store.>']) {
        await refused(`$JS.API.CONSUMER.CREATE.STORES.store-subscriber.${filter}`, () =>
          manager.consumers.add('STORES', {
            durable_name: 'store-subscriber',
            filter_subject: filter,
            ack_policy: AckPolicy.Explicit,
          }),
        );
      }
      // No other name (a service's durable least of all), no consumer without a name, no deleting its own.
      await refused('$JS.API.CONSUMER.CREATE.STORES.provisioner-store-status-approved.store.status.>', () =>
        manager.consumers.add('STORES', {
          durable_name: 'provisioner-store-status-approved',
          filter_subject: subjects.allStatus,
          ack_policy: AckPolicy.Explicit,
        }),
      );
      await refused('$JS.API.CONSUMER.CREATE.STORES', () =>
        manager.consumers.add('STORES', { ack_policy: AckPolicy.None }),
      );
      await refused('$JS.API.CONSUMER.DELETE.STORES.store-subscriber', () =>
        manager.consumers.delete('STORES', 'store-subscriber'),
      );
      // No other stream, no bucket.
      await refused('$JS.API.STREAM.INFO.AUDIT', () => manager.streams.info('AUDIT'));
      await refused('$JS.API.STREAM.MSG.GET.STORES', () => manager.streams.getMessage('STORES', { seq: 1 }));
      await refused('$JS.API.DIRECT.GET.KV_stores.$KV.stores.any', async () =>
        (await c.jetstream().views.kv('stores', { bindOnly: true, allow_direct: true })).get('any'),
      );
      await refused('$JS.API.STREAM.PURGE.STORES', () => manager.streams.purge('STORES'));
    });
  });
});
