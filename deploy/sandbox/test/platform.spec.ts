import { Platform } from '../src/platform';
import { testSandbox } from '../src/testing/test-sandbox';
import { SeededUser } from '../src/tokens';

jest.setTimeout(180_000);

const users: SeededUser[] = [
  { name: 'erin', role: 'admin', token: 'erin-platform-test-token-000000' },
  { name: 'carol', role: 'tenant', token: 'carol-platform-test-token-00000' },
  { name: 'dave', role: 'tenant', token: 'dave-platform-test-token-000000' },
];

interface StoreView {
  id: string;
  name: string;
  step: string;
  reason?: string;
  message?: string;
}

/**
 * The services as separate processes against the test sandbox, as `npm start` runs them: a request
 * travels gateway → JetStream → quota → JetStream → gateway read model, and survives crashes on the way.
 */
describe(Platform.name, () => {
  const sandbox = testSandbox();
  const logs: string[] = [];
  const sut = new Platform(sandbox, {
    users,
    // The front half only: operator.spec.ts runs the provisioner and cleanup, one of each per sandbox.
    services: ['gateway', 'quota'],
    // Limits out of the way: quota's rules have tests of their own.
    env: { LOG_LEVEL: 'warn', QUOTA_MAX_CREATES_PER_SOURCE_PER_HOUR: '100000', QUOTA_MAX_ACTIVE_STORES: '100000' },
    // Quota's decisions, to tell which process made them.
    serviceEnv: { quota: { LOG_LEVEL: 'info' } },
    output: (line) => logs.push(line),
  });
  let gatewayUrl = '';

  const api = async (user: string, method: string, path: string, body?: unknown) => {
    const token = users.find((u) => u.name === user)!.token;
    const res = await fetch(`${gatewayUrl}${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as StoreView & { items: StoreView[] } };
  };
  const storeName = (prefix: string) => `${prefix}-${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;

  async function stepOf(user: string, id: string, step: string, timeoutMs = 30_000): Promise<StoreView> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { body } = await api(user, 'GET', `/api/v1/stores/${id}`);
      if (body.step === step) return body;
      if (Date.now() > deadline) throw new Error(`store ${id} is ${body.step}, not ${step}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  beforeAll(async () => {
    ({ gatewayUrl } = await sut.start());
  });

  afterAll(() => sut.stop());

  it('approves a tenant’s first three stores and rejects the fourth with the quota reason', async () => {
    const created = [];
    for (let i = 0; i < 4; i++) {
      const { status, body } = await api('carol', 'POST', '/api/v1/stores', {
        name: storeName('carol'),
        engine: 'medusa',
      });
      expect(status).toBe(202);
      created.push(body);
    }

    for (const store of created.slice(0, 3)) await stepOf('carol', store.id, 'approved');
    const rejected = await stepOf('carol', created[3]!.id, 'rejected');
    expect(rejected).toMatchObject({ reason: 'QuotaExceeded', message: 'quota: 3 of 3 active stores' });
  });

  it('loses nothing accepted while quota is down: the store is decided once quota is back', async () => {
    await sut.kill('quota');

    const { status, body } = await api('dave', 'POST', '/api/v1/stores', {
      name: storeName('dave'),
      engine: 'woocommerce',
    });
    expect(status).toBe(202);
    expect((await api('dave', 'GET', `/api/v1/stores/${body.id}`)).body.step).toBe('queued');

    const relaunchedAt = logs.length;
    await sut.launch('quota');
    await stepOf('dave', body.id, 'approved');

    // The process started after the crash decided it: the killed one never saw the command.
    const decisions = logs.filter((line) => line.startsWith('[quota]') && line.includes(body.id));
    expect(decisions).toHaveLength(1);
    expect(logs.indexOf(decisions[0]!)).toBeGreaterThanOrEqual(relaunchedAt);
    expect(JSON.parse(decisions[0]!.slice('[quota] '.length))).toMatchObject({
      msg: 'Decided store creation',
      storeId: body.id,
      decision: 'approved',
      repeated: false,
    });
  });

  it('keeps accepting and deciding after the NATS server restarts', async () => {
    await sut.restartNats();

    let accepted: { status: number; body: StoreView } | undefined;
    const deadline = Date.now() + 30_000;
    // Until the gateway has reconnected, a create is refused with 503 and leaves nothing behind.
    while (!accepted || accepted.status !== 202) {
      accepted = await api('dave', 'POST', '/api/v1/stores', { name: storeName('after-restart'), engine: 'medusa' });
      expect([202, 503]).toContain(accepted.status);
      if (Date.now() > deadline) throw new Error('the gateway did not recover');
      if (accepted.status !== 202) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    await stepOf('dave', accepted.body.id, 'approved');
  });
});
