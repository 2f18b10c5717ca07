import { eventually, testSandbox } from '@urumi/sandbox';
import { KeyValueBuckets } from '@urumi/messaging';
import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { connect, NatsConnection } from 'nats';
import { countHit, Counter, NatsKvThrottlerStorage } from './nats-kv-throttler.storage';

jest.setTimeout(30_000);

const MINUTE = 60_000;

describe(countHit.name, () => {
  const rule = { ttlMs: MINUTE, limit: 3, blockMs: 0 };

  it('opens a window at the first hit and counts hits in it', () => {
    const first = countHit(undefined, 1_000, rule);
    const second = countHit(first.counter, 2_000, rule);

    expect(first).toEqual({ counter: { hits: 1, resetAt: 61_000, blockedUntil: 0 }, changed: true });
    expect(second).toEqual({ counter: { hits: 2, resetAt: 61_000, blockedUntil: 0 }, changed: true });
  });

  it('starts a new window once the old one has closed', () => {
    const counter: Counter = { hits: 4, resetAt: 61_000, blockedUntil: 0 };

    expect(countHit(counter, 61_000, rule)).toEqual({
      counter: { hits: 1, resetAt: 121_000, blockedUntil: 0 },
      changed: true,
    });
  });

  it('stops writing once the caller is over the limit', () => {
    const over: Counter = { hits: 4, resetAt: 61_000, blockedUntil: 0 };

    expect(countHit(over, 30_000, rule)).toEqual({ counter: over, changed: false });
  });

  it('keeps a blocked caller blocked for the block duration, past the window', () => {
    const blocking = { ...rule, blockMs: 2 * MINUTE };
    const blocked = countHit({ hits: 3, resetAt: 61_000, blockedUntil: 0 }, 30_000, blocking).counter;

    expect(blocked).toEqual({ hits: 4, resetAt: 61_000, blockedUntil: 150_000 });
    expect(countHit(blocked, 100_000, blocking)).toEqual({ counter: blocked, changed: false });
    expect(countHit(blocked, 150_000, blocking).counter).toEqual({ hits: 1, resetAt: 210_000, blockedUntil: 0 });
  });

  it('never admits more than the limit in one window', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.integer({ min: 0, max: 59_999 }), { maxLength: 60 }),
        (limit, offsets) => {
          let counter: Counter | undefined;
          let admitted = 0;
          for (const offset of [...offsets].sort((a, b) => a - b)) {
            ({ counter } = countHit(counter, offset, { ttlMs: MINUTE, limit, blockMs: 0 }));
            if (counter.hits <= limit) admitted++;
          }
          return admitted === Math.min(limit, offsets.length);
        },
      ),
    );
  });
});

describe(NatsKvThrottlerStorage.name, () => {
  const replicas: NatsConnection[] = [];
  let bucket: string;
  let sut: NatsKvThrottlerStorage;
  let other: NatsKvThrottlerStorage;

  beforeAll(async () => {
    const servers = await testSandbox().natsUrl();
    replicas.push(await connect({ servers }), await connect({ servers }));
  });

  afterAll(async () => {
    await Promise.all(replicas.map((nc) => nc.close()));
  });

  beforeEach(async () => {
    bucket = `rate-limits-test-${randomUUID().slice(0, 8)}`;
    sut = await NatsKvThrottlerStorage.open(new KeyValueBuckets(replicas[0]!), bucket, { ttlMs: 2 * MINUTE });
    other = await NatsKvThrottlerStorage.open(new KeyValueBuckets(replicas[1]!), bucket, { ttlMs: 2 * MINUTE });
  });

  afterEach(async () => {
    await (await replicas[0]!.jetstreamManager()).streams.delete(`KV_${bucket}`);
  });

  it('counts hits up to the limit, then blocks until the window closes', async () => {
    const records = [];
    for (let i = 0; i < 4; i++) records.push(await sut.increment('user:alice', MINUTE, 3, 0, 'user'));

    expect(records.map((r) => [r.totalHits, r.isBlocked])).toEqual([
      [1, false],
      [2, false],
      [3, false],
      [4, true],
    ]);
    expect(records[3]!.timeToBlockExpire).toBeGreaterThan(55);
    expect(records[3]!.timeToBlockExpire).toBeLessThanOrEqual(60);
  });

  it("costs a caller's next hit one write, a refused hit nothing, and a hit after another replica's one read more", async () => {
    const kv = await replicas[0]!.jetstream().views.kv(bucket);
    const counted = new NatsKvThrottlerStorage(kv);
    const calls = { get: jest.spyOn(kv, 'get'), create: jest.spyOn(kv, 'create'), update: jest.spyOn(kv, 'update') };
    const roundTrips = () =>
      Object.fromEntries(Object.entries(calls).map(([name, spy]) => [name, spy.mock.calls.length]));
    const hit = (storage: NatsKvThrottlerStorage) => storage.increment('user:alice', MINUTE, 4, 0, 'user');

    await hit(counted);
    expect(roundTrips()).toEqual({ get: 1, create: 1, update: 0 });
    await hit(counted);
    await hit(counted);
    expect(roundTrips()).toEqual({ get: 1, create: 1, update: 2 });

    await hit(other);
    expect((await hit(counted)).totalHits).toBe(5);
    expect(roundTrips()).toEqual({ get: 2, create: 1, update: 4 });

    expect((await hit(counted)).isBlocked).toBe(true);
    expect(roundTrips()).toEqual({ get: 2, create: 1, update: 4 });
  });

  it('keeps separate counters per key and per throttler', async () => {
    await sut.increment('user:alice', MINUTE, 5, 0, 'user');
    await sut.increment('user:alice', MINUTE, 5, 0, 'user');

    expect((await sut.increment('user:bob', MINUTE, 5, 0, 'user')).totalHits).toBe(1);
    expect((await sut.increment('user:alice', MINUTE, 5, 0, 'creates')).totalHits).toBe(1);
  });

  it('shares one counter between two replicas, losing no hit when they write at the same time', async () => {
    const hitRepeatedly = async (storage: NatsKvThrottlerStorage) => {
      const totals: number[] = [];
      for (let i = 0; i < 30; i++)
        totals.push((await storage.increment('ip:10.0.0.1', MINUTE, 100, 0, 'ip')).totalHits);
      return totals;
    };

    const [mine, theirs] = await Promise.all([hitRepeatedly(sut), hitRepeatedly(other)]);

    expect([...mine, ...theirs].sort((a, b) => a - b)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    expect((await other.increment('ip:10.0.0.1', MINUTE, 100, 0, 'ip')).totalHits).toBe(61);
  });

  it('shares one counter between two replicas under bursts of concurrent hits', async () => {
    const hits = await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 ? sut : other).increment('ip:10.0.0.1', MINUTE, 100, 0, 'ip')),
    );

    expect(hits.map((r) => r.totalHits).sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  });

  it('admits exactly the limit of many concurrent hits on one replica', async () => {
    const records = await Promise.all(
      Array.from({ length: 12 }, () => sut.increment('user:alice', MINUTE, 5, 0, 'user')),
    );

    expect(records.filter((r) => !r.isBlocked).map((r) => r.totalHits)).toEqual([1, 2, 3, 4, 5]);
    expect(records.filter((r) => r.isBlocked)).toHaveLength(7);
  });

  it('admits again once the window has passed', async () => {
    await sut.increment('user:alice', 1_000, 1, 0, 'user');
    expect((await other.increment('user:alice', 1_000, 1, 0, 'user')).isBlocked).toBe(true);

    // A real one-second window: the next hit that is admitted is the first of a new window.
    const admitted = await eventually(async () => {
      const record = await sut.increment('user:alice', 1_000, 1, 0, 'user');
      expect(record.isBlocked).toBe(false);
      return record;
    }, 5_000);

    expect(admitted).toMatchObject({ totalHits: 1, isBlocked: false });
  });

  it('lets idle counters expire through the bucket TTL', async () => {
    const kvBucket = `rate-limits-test-${randomUUID().slice(0, 8)}`;
    const shortLived = await NatsKvThrottlerStorage.open(new KeyValueBuckets(replicas[0]!), kvBucket, { ttlMs: 1_000 });
    const kv = await replicas[0]!.jetstream().views.kv(kvBucket);
    await shortLived.increment('user:alice', 500, 10, 0, 'user');
    const countEntries = async () => (await kv.status()).values;
    expect(await countEntries()).toBe(1);

    await eventually(async () => expect(await countEntries()).toBe(0), 10_000, 200);
    await kv.destroy();
  });
});
