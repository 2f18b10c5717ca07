import {
  decodePayload,
  durableName,
  nakDelayMs,
  outcomeOfFailure,
  serverMaxDeliver,
  workingIntervalMs,
} from './delivery-policy';

describe(nakDelayMs.name, () => {
  const backoff = [1_000, 5_000, 15_000];

  it.each([
    [1, 1_000],
    [2, 5_000],
    [3, 15_000],
    [4, 15_000],
    [50, 15_000],
  ])('after delivery %i waits %i ms', (deliveryCount, expected) => {
    expect(nakDelayMs(backoff, deliveryCount)).toBe(expected);
  });

  it('treats a nonsensical delivery count as the first delivery', () => {
    expect(nakDelayMs(backoff, 0)).toBe(1_000);
  });

  it('redelivers at once without a backoff list', () => {
    expect(nakDelayMs([], 3)).toBe(0);
  });
});

describe(outcomeOfFailure.name, () => {
  const policy = { maxDeliver: 3, backoffMs: [100, 200] };

  it('redelivers a transient failure with the backoff for its delivery', () => {
    expect(outcomeOfFailure({ poison: false, reason: 'db down' }, 2, policy)).toEqual({
      action: 'redeliver',
      delayMs: 200,
    });
  });

  it('dead-letters a transient failure on the last allowed delivery', () => {
    expect(outcomeOfFailure({ poison: false, reason: 'db down' }, 3, policy)).toEqual({
      action: 'dead-letter',
      reason: 'failed 3 of 3 deliveries: db down',
    });
  });

  it('dead-letters a poison message on its first delivery', () => {
    expect(outcomeOfFailure({ poison: true, reason: 'unknown engine' }, 1, policy)).toEqual({
      action: 'dead-letter',
      reason: 'poison message: unknown engine',
    });
  });
});

describe(durableName.name, () => {
  it.each([
    ['quota', 'store.cmd.create', 'quota-store-cmd-create'],
    ['cleanup', 'store.cmd.>', 'cleanup-store-cmd-all'],
    ['provisioner', 'store.*.create', 'provisioner-store-star-create'],
    ['my svc', 'a.b/c', 'my_svc-a-b_c'],
  ])('%s + %s → %s', (prefix, pattern, expected) => {
    expect(durableName(prefix, pattern)).toBe(expected);
  });

  it('keeps long names within 128 characters, and distinct', () => {
    const long = (suffix: string) => `store.${'x'.repeat(200)}.${suffix}`;
    const first = durableName('svc', long('a'));
    const second = durableName('svc', long('b'));

    expect(first.length).toBeLessThanOrEqual(128);
    expect(first).not.toBe(second);
    expect(first).toMatch(/^[A-Za-z0-9_-]+$/);
  });
});

describe(decodePayload.name, () => {
  const bytes = (text: string) => new TextEncoder().encode(text);

  it('parses UTF-8 JSON', () => {
    expect(decodePayload(bytes('{"name":"café"}'))).toEqual({ ok: true, value: { name: 'café' } });
  });

  it.each([
    ['malformed JSON', bytes('{"name":')],
    ['an empty payload', bytes('')],
    ['invalid UTF-8', new Uint8Array([0x22, 0xff, 0xfe, 0x22])],
  ])('refuses %s', (_, data) => {
    expect(decodePayload(data)).toEqual({ ok: false });
  });
});

describe(workingIntervalMs.name, () => {
  it('beats three times per ack wait', () => {
    expect(workingIntervalMs(30_000)).toBe(10_000);
  });

  it('never beats more often than every 100 ms', () => {
    expect(workingIntervalMs(150)).toBe(100);
  });
});

describe(serverMaxDeliver.name, () => {
  it('keeps one spare delivery for dead-lettering', () => {
    expect(serverMaxDeliver(5)).toBe(6);
  });
});
