import type { V1Lease } from '@kubernetes/client-node';
import { Clock, JITTER_FACTOR, LeaderElector, LeaseApi } from './leader-election';

const SECOND = 1000;
const TIMING = { leaseDurationMs: 15 * SECOND, renewDeadlineMs: 10 * SECOND, retryPeriodMs: 2 * SECOND };

/** Lets every promise chain that can move on do so (the fakes answer at once). */
const settle = async () => {
  for (let i = 0; i < 30; i++) await new Promise((resolve) => setImmediate(resolve));
};

/** Time that moves only when the test says so; sleepers wake in order of their due time. */
class FakeClock implements Clock {
  time = 0;
  private sleepers: { due: number; wake: () => void }[] = [];

  now(): number {
    return this.time;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const sleeper = { due: this.time + Math.max(0, ms), wake: resolve };
      this.sleepers.push(sleeper);
      signal?.addEventListener(
        'abort',
        () => {
          this.sleepers = this.sleepers.filter((s) => s !== sleeper);
          resolve();
        },
        { once: true },
      );
    });
  }

  async advance(ms: number): Promise<void> {
    const target = this.time + ms;
    for (;;) {
      await settle();
      const next = this.sleepers.filter((s) => s.due <= target).sort((a, b) => a.due - b.due)[0];
      if (!next) break;
      this.sleepers = this.sleepers.filter((s) => s !== next);
      this.time = next.due;
      next.wake();
    }
    this.time = target;
    await settle();
  }

  /** The process was stopped (SIGSTOP): time passed and nothing ran. */
  jump(ms: number): void {
    this.time += ms;
  }
}

const conflict = () => Object.assign(new Error('the object has been modified'), { code: 409 });

/** One Lease on a fake API server: resourceVersion checked on every replace, as the API server does. */
class FakeLeaseServer {
  lease?: V1Lease;
  private version = 0;
  readonly writes: { by: string; lease: V1Lease }[] = [];

  /** What another candidate (or a person) writes. */
  put(spec: V1Lease['spec']): void {
    this.lease = {
      metadata: { name: 'urumi-test', namespace: 'urumi-system', resourceVersion: String(++this.version) },
      spec,
    };
  }

  client(name: string): LeaseApi & { mode: 'up' | 'failing' | 'hanging' } {
    const read = () => this.lease && structuredClone(this.lease);
    const exists = () => this.lease !== undefined;
    const version = () => this.lease?.metadata?.resourceVersion;
    const store = (lease: V1Lease) => this.store(name, lease);
    const reach = async () => {
      if (client.mode === 'failing') throw Object.assign(new Error('connection refused'), { code: undefined });
      if (client.mode === 'hanging') await new Promise(() => undefined);
    };
    const client = {
      mode: 'up' as 'up' | 'failing' | 'hanging',
      namespace: 'urumi-system',
      name: 'urumi-test',
      read: async () => {
        await reach();
        return read();
      },
      create: async (lease: V1Lease) => {
        await reach();
        if (exists()) throw conflict();
        return store(lease);
      },
      replace: async (lease: V1Lease) => {
        await reach();
        if (lease.metadata?.resourceVersion !== version()) throw conflict();
        return store(lease);
      },
    };
    return client;
  }

  private store(by: string, lease: V1Lease): V1Lease {
    const stored = structuredClone({
      ...lease,
      metadata: { ...lease.metadata, resourceVersion: String(++this.version) },
    });
    this.lease = stored;
    this.writes.push({ by, lease: stored });
    return structuredClone(stored);
  }
}

/**
 * A candidate and what happened to it: each callback with the fake clock's time and the holder the Lease named then.
 * Its onStoppedLeading takes `stopTakesMs` to settle (in-flight work being wound down).
 */
function candidate(
  server: FakeLeaseServer,
  clock: FakeClock,
  identity: string,
  { stopTakesMs = 0 }: { stopTakesMs?: number } = {},
) {
  const api = server.client(identity);
  const events: { at: number; event: string; holder?: string }[] = [];
  const record = (event: string) => events.push({ at: clock.now(), event, holder: server.lease?.spec?.holderIdentity });
  let term: AbortSignal | undefined;
  const sut = new LeaderElector(
    { lease: api, identity, clock, random: () => 0, ...TIMING },
    {
      onStartedLeading: (signal) => {
        term = signal;
        record('started');
      },
      onStoppedLeading: async () => {
        record('stopped');
        await clock.sleep(stopTakesMs);
        record('stop settled');
      },
      onNewLeader: (leader) => record(`leader ${leader}`),
      onReleased: () => record('released'),
    },
  );
  const find = (event: string) => events.find((e) => e.event === event);
  return { sut, api, events, term: () => term, find, at: (event: string) => find(event)?.at };
}

describe(LeaderElector.name, () => {
  let server: FakeLeaseServer;
  let clock: FakeClock;
  const running: LeaderElector[] = [];
  const start = (c: ReturnType<typeof candidate>) => {
    running.push(c.sut);
    c.sut.start();
    return c;
  };

  beforeEach(() => {
    server = new FakeLeaseServer();
    clock = new FakeClock();
  });

  afterEach(async () => {
    for (const elector of running.splice(0)) {
      let stopped = false;
      const stopping = elector.stop().then(() => (stopped = true));
      while (!stopped) await clock.advance(TIMING.retryPeriodMs);
      await stopping;
    }
  });

  it('acquires a Lease that does not exist yet by creating it', async () => {
    const a = start(candidate(server, clock, 'a'));
    await clock.advance(0);

    expect(a.sut.isLeading).toBe(true);
    expect(a.events.map((e) => e.event)).toEqual(['leader a', 'started']);
    expect(server.lease?.spec).toMatchObject({ holderIdentity: 'a', leaseDurationSeconds: 15, leaseTransitions: 0 });
  });

  it('acquires a free Lease (no holder) at once, counting a transition', async () => {
    server.put({ holderIdentity: '', leaseDurationSeconds: 1, leaseTransitions: 4 });
    const a = start(candidate(server, clock, 'a'));
    await clock.advance(0);

    expect(a.sut.isLeading).toBe(true);
    expect(server.lease?.spec).toMatchObject({ holderIdentity: 'a', leaseDurationSeconds: 15, leaseTransitions: 5 });
  });

  it('does not acquire a Lease another holds and keeps renewing', async () => {
    server.put({ holderIdentity: 'b', leaseDurationSeconds: 15, leaseTransitions: 1 });
    const a = start(candidate(server, clock, 'a'));
    for (let i = 0; i < 30; i++) {
      await clock.advance(2 * SECOND);
      server.put({ ...server.lease!.spec, renewTime: new Date(clock.now()) });
    }

    expect(a.sut.isLeading).toBe(false);
    expect(a.sut.leader).toBe('b');
    expect(a.events.map((e) => e.event)).toEqual(['leader b']);
    expect(server.writes).toEqual([]);
  });

  it('takes over a Lease left unrenewed for its duration by its own clock, not the time written in it', async () => {
    // Renewed "in the future" by a skewed clock: the time written in it is not what counts.
    server.put({ holderIdentity: 'b', leaseDurationSeconds: 15, leaseTransitions: 1, renewTime: new Date(9e12) });
    const a = start(candidate(server, clock, 'a'));
    await clock.advance(14 * SECOND);
    expect(a.sut.isLeading).toBe(false);

    await clock.advance(4 * SECOND);

    expect(a.sut.isLeading).toBe(true);
    expect(a.at('started')).toBeGreaterThanOrEqual(15 * SECOND);
    expect(a.at('started')).toBeLessThanOrEqual(15 * SECOND + TIMING.retryPeriodMs);
    expect(server.lease?.spec).toMatchObject({ holderIdentity: 'a', leaseTransitions: 2 });
  });

  it('renews every retry period, keeping its acquisition time and transitions', async () => {
    const a = start(candidate(server, clock, 'a'));
    await clock.advance(0);
    const acquired = server.lease!.spec!.acquireTime;

    await clock.advance(60 * SECOND);

    expect(a.sut.isLeading).toBe(true);
    expect(server.writes.length).toBe(1 + 60 / 2);
    expect(server.lease?.spec).toMatchObject({ holderIdentity: 'a', leaseTransitions: 0, acquireTime: acquired });
    expect(a.events.map((e) => e.event)).toEqual(['leader a', 'started']);
  });

  it('of two candidates racing for a free Lease, lets exactly one win (the other gets a 409)', async () => {
    const [a, b] = [start(candidate(server, clock, 'a')), start(candidate(server, clock, 'b'))];
    await clock.advance(30 * SECOND);

    expect([a.sut.isLeading, b.sut.isLeading].filter(Boolean)).toHaveLength(1);
    expect(new Set(server.writes.map((w) => w.by)).size).toBe(1);
  });

  it('stops leading at once when its renewal gets a 409 and the Lease names another holder', async () => {
    const a = start(candidate(server, clock, 'a'));
    await clock.advance(SECOND);
    server.put({ ...server.lease!.spec, holderIdentity: 'b', leaseTransitions: 1 });

    await clock.advance(TIMING.retryPeriodMs);

    expect(a.sut.isLeading).toBe(false);
    expect(a.term()?.aborted).toBe(true);
    expect(a.at('stopped')).toBe(TIMING.retryPeriodMs);
    expect(a.sut.leader).toBe('b');
    expect(server.lease?.spec?.holderIdentity).toBe('b');
  });

  it.each(['failing', 'hanging'] as const)(
    'stops leading when renewals keep %s past the renew deadline, before the Lease expires for the others',
    async (mode) => {
      const a = start(candidate(server, clock, 'a'));
      await clock.advance(0);
      const b = start(candidate(server, clock, 'b'));
      await clock.advance(3 * SECOND);
      const lastRenewal = 2 * SECOND;
      expect(server.writes.at(-1)).toMatchObject({ by: 'a' });

      a.api.mode = mode;
      await clock.advance(30 * SECOND);

      const stoppedAt = a.at('stopped')!;
      expect(stoppedAt).toBeLessThanOrEqual(lastRenewal + TIMING.renewDeadlineMs);
      expect(stoppedAt).toBeLessThan(lastRenewal + TIMING.leaseDurationMs);
      expect(a.term()?.aborted).toBe(true);
      expect(a.sut.isLeading).toBe(false);
      // The other saw the last renewal no earlier than it was sent, and waited the whole lease duration from then.
      expect(b.at('started')).toBeGreaterThanOrEqual(lastRenewal + TIMING.leaseDurationMs);
      expect(b.at('started')).toBeGreaterThan(stoppedAt);
      expect(server.lease?.spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
    },
  );

  it('is no longer leading after a stall longer than the renew deadline, before any callback ran', async () => {
    const a = start(candidate(server, clock, 'a'));
    await clock.advance(SECOND);
    expect(a.sut.isLeading).toBe(true);

    clock.jump(TIMING.renewDeadlineMs);

    expect(a.sut.isLeading).toBe(false);
  });

  it('when stopped, stops leading and waits for that before it releases the Lease, which another takes at once', async () => {
    const a = start(candidate(server, clock, 'a', { stopTakesMs: 3 * SECOND }));
    await clock.advance(0);
    const b = start(candidate(server, clock, 'b'));
    await clock.advance(5 * SECOND);
    running.splice(running.indexOf(a.sut), 1);

    const stopped = a.sut.stop();
    await clock.advance(3 * SECOND);
    await stopped;

    expect(a.find('stopped')).toMatchObject({ at: 5 * SECOND, holder: 'a' });
    expect(a.find('stop settled')).toMatchObject({ at: 8 * SECOND, holder: 'a' });
    expect(a.find('released')).toMatchObject({ at: 8 * SECOND, holder: '' });
    expect(a.find('leader ')).toMatchObject({ at: 8 * SECOND, holder: '' });
    const release = server.writes.findIndex((w) => w.by === 'a' && w.lease.spec?.holderIdentity === '');
    expect(server.writes[release]?.lease.spec).toMatchObject({ leaseDurationSeconds: 1, leaseTransitions: 0 });
    await clock.advance((1 + JITTER_FACTOR) * TIMING.retryPeriodMs);
    expect(b.sut.isLeading).toBe(true);
    expect(b.at('started')! - 8 * SECOND).toBeLessThanOrEqual((1 + JITTER_FACTOR) * TIMING.retryPeriodMs);
    expect(server.writes.slice(release + 1).map((w) => w.by)).toEqual(expect.arrayContaining(['b']));
    expect(server.writes.slice(release + 1).every((w) => w.by === 'b')).toBe(true);
    expect(server.lease?.spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
  });

  it('refuses timings that would let a leader act after its Lease expired for the others', () => {
    const lease = server.client('a');
    const callbacks = { onStartedLeading: () => undefined, onStoppedLeading: () => undefined };
    const make = (timing: Partial<typeof TIMING>) =>
      new LeaderElector({ lease, identity: 'a', ...TIMING, ...timing }, callbacks);

    expect(() => make({ renewDeadlineMs: 15 * SECOND })).toThrow(
      /lease duration must be greater than the renew deadline/,
    );
    expect(() => make({ retryPeriodMs: 9 * SECOND })).toThrow(/renew deadline must be greater than 1.2/);
    expect(() => make({ retryPeriodMs: 0 })).toThrow(/retry period/);
  });
});
