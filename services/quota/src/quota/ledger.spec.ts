import { ActorSchema, create, CreateStoreCommandSchema } from '@urumi/contracts';
import {
  concludeOwner,
  DECISION_RETENTION_MS,
  emptyOwnerRecord,
  emptyPlatformRecord,
  emptySourceRecord,
  HOUR_MS,
  leftoversOf,
  limitsFor,
  MAX_REMEMBERED_REJECTIONS,
  MAX_REMEMBERED_RELEASES,
  OwnerLimits,
  OwnerRecord,
  pruneOwner,
  QuotaCommand,
  releaseOwner,
  reserveOwner,
  reservePlatform,
  reserveSource,
} from './ledger';

const start = new Date('2026-11-27T13:05:00Z');
const limits: OwnerLimits = { maxActiveStores: 3, maxCreatesPerHour: 10, maxCreatesPerSourcePerHour: 30 };
let sequence = 0;

function aCommand(storeId = `store-${++sequence}`): QuotaCommand {
  return create(CreateStoreCommandSchema, {
    storeId,
    owner: 'alice',
    requestedBy: create(ActorSchema, { user: 'alice', sourceIp: '10.0.0.1' }),
  });
}

function minutesAfter(minutes: number, from = start): Date {
  return new Date(from.getTime() + minutes * 60 * 1000);
}

/** Reserves and commits `count` stores in the owner's record, as if source and platform had room; `ended` ends each again. */
function approveAll(count: number, { ended = false, record = emptyOwnerRecord, now = start } = {}): OwnerRecord {
  const roomy = { ...limits, maxActiveStores: 100 };
  for (let i = 0; i < count; i++) {
    const command = aCommand();
    record = reserveOwner(record, command, ended ? roomy : limits, now).record;
    record = concludeOwner(record, command.storeId, undefined, now).record;
    if (ended) record = releaseOwner(record, command.storeId, now).record;
  }
  return record;
}

/** Approves `count` stores and ends each one again, so only the creation counts remain. */
const createdAndDeleted = (count: number) => approveAll(count, { ended: true });

const full = (): OwnerRecord => approveAll(3);

describe(reserveOwner.name, () => {
  it('reserves a slot and a creation for a store within the limits', () => {
    const command = aCommand();

    const sut = reserveOwner(emptyOwnerRecord, command, limits, start);

    expect(sut.result).toEqual({ kind: 'reserved', at: start.getTime() });
    expect(sut.record.active).toEqual({ [command.storeId]: start.getTime() });
    expect(sut.record.creations).toEqual([{ storeId: command.storeId, at: start.getTime() }]);
    expect(sut.record.decisions).toEqual({});
  });

  it("rejects an owner's store beyond the cap on active stores, counting reserved ones", () => {
    const reserved = reserveOwner(approveAll(2), aCommand(), limits, start).record;
    const command = aCommand();

    const sut = reserveOwner(reserved, command, limits, start);

    expect(sut.result).toMatchObject({
      kind: 'decided',
      decision: { outcome: 'rejected', reason: 'QuotaExceeded', message: 'quota: 3 of 3 active stores' },
      leftovers: { source: true, platform: true },
    });
    expect(Object.keys(sut.record.active)).toHaveLength(3);
    expect(sut.record.creations).toHaveLength(3);
  });

  it('limits the stores an owner creates per hour, and says when to try again', () => {
    const record = createdAndDeleted(10);

    const sut = reserveOwner(record, aCommand(), limits, minutesAfter(30));

    expect(sut.result).toMatchObject({
      kind: 'decided',
      decision: {
        outcome: 'rejected',
        reason: 'OwnerRateLimited',
        message: 'rate limit: 10 stores created in the last hour; try again after 14:05 UTC',
      },
    });
    expect(reserveOwner(record, aCommand(), limits, minutesAfter(60)).result.kind).toBe('reserved');
  });

  it('answers a command it already decided with the same decision and changes nothing', () => {
    const record = full();
    const rejected = aCommand();
    const afterRejection = reserveOwner(record, rejected, limits, start).record;

    const sut = reserveOwner(afterRejection, rejected, limits, minutesAfter(5));

    expect(sut.record).toBe(afterRejection);
    expect(sut.result).toMatchObject({
      kind: 'decided',
      repeated: true,
      decision: { outcome: 'rejected', reason: 'QuotaExceeded', at: start.getTime() },
    });
  });

  it('answers a redelivery mid-decision with the reservation already made', () => {
    const command = aCommand();
    const reserved = reserveOwner(emptyOwnerRecord, command, limits, start).record;

    const sut = reserveOwner(reserved, command, limits, minutesAfter(1));

    expect(sut.record).toBe(reserved);
    expect(sut.result).toEqual({ kind: 'reserved', at: start.getTime() });
  });

  it('announces nothing for a store deleted since it was approved, and gives its platform slot back', () => {
    const command = aCommand();
    const approved = concludeOwner(
      reserveOwner(emptyOwnerRecord, command, limits, start).record,
      command.storeId,
      undefined,
      start,
    ).record;
    const deleted = releaseOwner(approved, command.storeId, start).record;

    const sut = reserveOwner(deleted, command, limits, minutesAfter(1));

    expect(sut.record).toBe(deleted);
    expect(sut.result).toMatchObject({
      kind: 'decided',
      decision: { outcome: 'withdrawn' },
      leftovers: { source: false, platform: true },
    });
  });

  it('withdraws a store deleted before its command was decided, without taking a slot', () => {
    const command = aCommand();
    const deleted = releaseOwner(emptyOwnerRecord, command.storeId, start).record;

    const sut = reserveOwner(deleted, command, limits, minutesAfter(1));

    expect(sut.result).toMatchObject({ kind: 'decided', decision: { outcome: 'withdrawn' } });
    expect(sut.record.active).toEqual({});
    expect(sut.record.creations).toEqual([]);
    expect(sut.record.released).toEqual({});
  });

  it('forgets the oldest rejections once it remembers too many', () => {
    let record = full();
    const first = aCommand();
    record = reserveOwner(record, first, limits, start).record;
    for (let i = 0; i < MAX_REMEMBERED_REJECTIONS; i++) {
      record = reserveOwner(record, aCommand(), limits, minutesAfter(1 + i / 100)).record;
    }

    const rejections = Object.values(record.decisions).filter((decision) => decision.outcome === 'rejected');
    expect(rejections).toHaveLength(MAX_REMEMBERED_REJECTIONS);
    expect(Object.keys(record.decisions)).not.toContain(first.storeId);
    expect(Object.keys(record.active)).toHaveLength(3);
  });
});

describe(limitsFor.name, () => {
  it("applies an owner's override and the defaults for what it leaves out", () => {
    const quota = { owner: limits, overrides: { bench: { maxActiveStores: 5 } }, platformMaxActiveStores: 200 };

    expect(limitsFor(quota, 'bench')).toEqual({ ...limits, maxActiveStores: 5 });
    expect(limitsFor(quota, 'alice')).toEqual(limits);
    expect(limitsFor(quota, 'constructor')).toEqual(limits);
  });
});

describe(reserveSource.name, () => {
  it('limits the stores created from one source address per hour, and says when to try again', () => {
    let record = emptySourceRecord;
    for (let i = 0; i < 4; i++) record = reserveSource(record, `store-${i}`, 4, start.getTime()).record;

    const sut = reserveSource(record, 'one-more', 4, minutesAfter(10).getTime());

    expect(sut.record).toBe(record);
    expect(sut.result).toEqual({
      reason: 'SourceRateLimited',
      message: 'rate limit: 4 stores created from your address in the last hour; try again after 14:05 UTC',
    });
    expect(reserveSource(record, 'one-more', 4, minutesAfter(60).getTime()).result).toBeUndefined();
  });

  it('counts a store once, however often it is reserved', () => {
    const once = reserveSource(emptySourceRecord, 'store-1', 4, start.getTime()).record;

    const sut = reserveSource(once, 'store-1', 4, start.getTime());

    expect(sut.record).toBe(once);
    expect(sut.result).toBeUndefined();
  });
});

describe(reservePlatform.name, () => {
  it('refuses any store once the platform holds its maximum of active stores', () => {
    const two = ['a', 'b'].reduce((record, id) => reservePlatform(record, id, 2, 0).record, emptyPlatformRecord);

    const sut = reservePlatform(two, 'c', 2, 0);

    expect(sut.record).toBe(two);
    expect(sut.result).toEqual({
      reason: 'PlatformFull',
      message: 'platform full: 2 of 2 active stores; try again once a store is deleted',
    });
    expect(reservePlatform(two, 'a', 2, 0)).toEqual({ record: two, result: undefined });
  });
});

describe(concludeOwner.name, () => {
  it('commits an approval, keeping the reserved slot', () => {
    const command = aCommand();
    const reserved = reserveOwner(emptyOwnerRecord, command, limits, start).record;

    const sut = concludeOwner(reserved, command.storeId, undefined, minutesAfter(1));

    expect(sut.result).toEqual({
      decision: { outcome: 'approved', at: start.getTime() },
      repeated: false,
      leftovers: { source: false, platform: false },
    });
    expect(Object.keys(sut.record.active)).toEqual([command.storeId]);
  });

  it('commits a refusal from source or platform, giving back the slot and the creation', () => {
    const command = aCommand();
    const reserved = reserveOwner(emptyOwnerRecord, command, limits, start).record;
    const refusal = { reason: 'PlatformFull', message: 'platform full' } as const;

    const sut = concludeOwner(reserved, command.storeId, refusal, start);

    expect(sut.result).toEqual({
      decision: { outcome: 'rejected', at: start.getTime(), ...refusal },
      repeated: false,
      leftovers: { source: true, platform: true },
    });
    expect(sut.record.active).toEqual({});
    expect(sut.record.creations).toEqual([]);
  });

  it('keeps the decision another replica committed first', () => {
    const command = aCommand();
    const reserved = reserveOwner(emptyOwnerRecord, command, limits, start).record;
    const committed = concludeOwner(reserved, command.storeId, undefined, start).record;

    const sut = concludeOwner(committed, command.storeId, { reason: 'PlatformFull', message: 'full' }, start);

    expect(sut.record).toBe(committed);
    expect(sut.result).toMatchObject({ decision: { outcome: 'approved' }, repeated: true });
  });

  it('withdraws a store whose end was reported while it was being decided', () => {
    const command = aCommand();
    const reserved = reserveOwner(emptyOwnerRecord, command, limits, start).record;
    const ended = releaseOwner(reserved, command.storeId, start);

    const sut = concludeOwner(ended.record, command.storeId, undefined, start);

    expect(ended.result).toBe('recorded-before-decision');
    expect(sut.result).toMatchObject({
      decision: { outcome: 'withdrawn' },
      leftovers: { source: true, platform: true },
    });
    expect(sut.record.active).toEqual({});
  });
});

describe(releaseOwner.name, () => {
  it('frees a slot once, however often the store is released, and says the platform slot goes too', () => {
    const record = full();
    const [storeId] = Object.keys(record.active);

    const once = releaseOwner(record, storeId!, start);
    const sut = releaseOwner(once.record, storeId!, minutesAfter(1));

    expect(once.result).toBe('freed');
    expect(Object.keys(once.record.active)).toHaveLength(2);
    expect(sut).toEqual({ record: once.record, result: 'unchanged' });
    expect(leftoversOf(once.record, storeId!)).toEqual({ source: false, platform: true });
    expect(reserveOwner(once.record, aCommand(), limits, start).result.kind).toBe('reserved');
  });

  it('changes nothing for a store it rejected', () => {
    const rejected = aCommand();
    const afterRejection = reserveOwner(full(), rejected, limits, start).record;

    expect(releaseOwner(afterRejection, rejected.storeId, start)).toEqual({
      record: afterRejection,
      result: 'unchanged',
    });
  });

  it('remembers a bounded number of stores that ended before their decision', () => {
    let record = emptyOwnerRecord;
    for (let i = 0; i <= MAX_REMEMBERED_RELEASES; i++) {
      record = releaseOwner(record, `early-${i}`, minutesAfter(i / 100)).record;
    }

    expect(Object.keys(record.released)).toHaveLength(MAX_REMEMBERED_RELEASES);
    expect(Object.keys(record.released)).not.toContain('early-0');
  });
});

describe(pruneOwner.name, () => {
  it('forgets creations after an hour and decisions after a day, but never the decision of an active store', () => {
    const old = aCommand();
    const ended = aCommand();
    let record = reserveOwner(emptyOwnerRecord, old, limits, start).record;
    record = concludeOwner(record, old.storeId, undefined, start).record;
    record = reserveOwner(record, ended, limits, start).record;
    record = concludeOwner(record, ended.storeId, undefined, start).record;
    record = releaseOwner(record, ended.storeId, start).record;

    const sut = pruneOwner(record, start.getTime() + DECISION_RETENTION_MS);

    expect(pruneOwner(record, start.getTime() + HOUR_MS).creations).toEqual([]);
    expect(Object.keys(sut.decisions)).toEqual([old.storeId]);
    expect(Object.keys(sut.active)).toEqual([old.storeId]);
  });

  it('still answers an active store whose day has passed with its approval', () => {
    const command = aCommand();
    let record = reserveOwner(emptyOwnerRecord, command, limits, start).record;
    record = concludeOwner(record, command.storeId, undefined, start).record;
    const dayLater = new Date(start.getTime() + DECISION_RETENTION_MS + HOUR_MS);
    const pruned = reserveOwner(record, aCommand(), limits, dayLater).record;

    const sut = reserveOwner(pruned, command, limits, dayLater);

    expect(sut.result).toMatchObject({ kind: 'decided', decision: { outcome: 'approved', at: start.getTime() } });
    expect(sut.record).toBe(pruned);
  });
});
