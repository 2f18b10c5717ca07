import { ActorSchema, create, CreateStoreCommandSchema } from '@urumi/contracts';
import {
  DECISION_RETENTION_MS,
  decide,
  Decision,
  emptyLedger,
  HOUR_MS,
  Ledger,
  MAX_REMEMBERED_REJECTIONS,
  QuotaCommand,
  QuotaLimits,
  release,
} from './ledger';

const start = new Date('2026-11-27T13:05:00Z');
let sequence = 0;

function aCommand(overrides: { storeId?: string; owner?: string; sourceIp?: string } = {}): QuotaCommand {
  sequence += 1;
  return create(CreateStoreCommandSchema, {
    storeId: overrides.storeId ?? `store-${sequence}`,
    owner: overrides.owner ?? 'alice',
    requestedBy: create(ActorSchema, { user: overrides.owner ?? 'alice', sourceIp: overrides.sourceIp ?? '10.0.0.1' }),
  });
}

function someLimits(overrides: Partial<QuotaLimits> = {}): QuotaLimits {
  return {
    owner: { maxActiveStores: 3, maxCreatesPerHour: 10, maxCreatesPerSourcePerHour: 30 },
    overrides: {},
    platformMaxActiveStores: 200,
    ...overrides,
  };
}

function minutesAfter(minutes: number, from = start): Date {
  return new Date(from.getTime() + minutes * 60 * 1000);
}

/** Decides the commands one after another, as the compare-and-set loop serialises them. */
function decideAll(
  commands: readonly QuotaCommand[],
  { ledger = emptyLedger, limits = someLimits(), now = start } = {},
): { ledger: Ledger; decisions: Decision[] } {
  const decisions: Decision[] = [];
  for (const command of commands) {
    const verdict = decide(ledger, command, limits, now);
    ledger = verdict.ledger;
    decisions.push(verdict.decision);
  }
  return { ledger, decisions };
}

/** Approves `count` stores for the owner and frees each slot again, so only the creation counts remain. */
function createdAndDeleted(
  count: number,
  { owner = 'alice', sourceIp = '10.0.0.1', ledger = emptyLedger, now = start } = {},
) {
  const limits = someLimits({
    owner: { maxActiveStores: 100, maxCreatesPerHour: 100, maxCreatesPerSourcePerHour: 100 },
  });
  for (let i = 0; i < count; i++) {
    const command = aCommand({ owner, sourceIp });
    ledger = decide(ledger, command, limits, now).ledger;
    ledger = release(ledger, command.storeId, now);
  }
  return ledger;
}

const outcomes = (decisions: readonly Decision[]) => decisions.map((decision) => decision.outcome);

describe(decide.name, () => {
  it('approves a store and takes a slot for it', () => {
    const command = aCommand();

    const sut = decide(emptyLedger, command, someLimits(), start);

    expect(sut.decision).toEqual({ outcome: 'approved', at: start.getTime() });
    expect(sut.ledger.active).toEqual({ [command.storeId]: { owner: 'alice', at: start.getTime() } });
    expect(sut.ledger.creations).toHaveLength(1);
  });

  it("rejects an owner's store beyond the cap on active stores", () => {
    const { ledger, decisions } = decideAll([aCommand(), aCommand(), aCommand(), aCommand()]);

    expect(outcomes(decisions)).toEqual(['approved', 'approved', 'approved', 'rejected']);
    expect(decisions[3]).toMatchObject({ reason: 'QuotaExceeded', message: 'quota: 3 of 3 active stores' });
    expect(Object.keys(ledger.active)).toHaveLength(3);
  });

  it("does not count another owner's stores against the cap", () => {
    const { ledger } = decideAll([aCommand(), aCommand(), aCommand()]);

    const sut = decide(ledger, aCommand({ owner: 'bob', sourceIp: '10.0.0.2' }), someLimits(), start);

    expect(sut.decision.outcome).toBe('approved');
  });

  it('limits the stores an owner creates per hour, and says when to try again', () => {
    const ledger = createdAndDeleted(10);

    const sut = decide(ledger, aCommand(), someLimits(), minutesAfter(30));

    expect(sut.decision).toMatchObject({
      outcome: 'rejected',
      reason: 'OwnerRateLimited',
      message: 'rate limit: 10 stores created in the last hour; try again after 14:05 UTC',
    });
    expect(decide(ledger, aCommand(), someLimits(), minutesAfter(60)).decision.outcome).toBe('approved');
  });

  it('does not count rejected commands towards the hourly rate', () => {
    const { ledger } = decideAll([aCommand(), aCommand(), aCommand(), aCommand(), aCommand()]);

    expect(ledger.creations).toHaveLength(3);
  });

  it('limits the stores created from one source address per hour, whoever the owner', () => {
    const limits = someLimits({ owner: { maxActiveStores: 3, maxCreatesPerHour: 10, maxCreatesPerSourcePerHour: 4 } });
    const commands = ['alice', 'bob', 'carol', 'dave', 'erin'].map((owner) =>
      aCommand({ owner, sourceIp: '192.0.2.7' }),
    );

    const { decisions } = decideAll(commands, { limits });
    const fromElsewhere = decideAll([aCommand({ owner: 'erin', sourceIp: '192.0.2.8' })], { limits });

    expect(outcomes(decisions)).toEqual(['approved', 'approved', 'approved', 'approved', 'rejected']);
    expect(decisions[4]).toMatchObject({
      reason: 'SourceRateLimited',
      message: 'rate limit: 4 stores created from your address in the last hour; try again after 14:05 UTC',
    });
    expect(outcomes(fromElsewhere.decisions)).toEqual(['approved']);
  });

  it('rejects any store once the platform holds its maximum of active stores', () => {
    const limits = someLimits({ platformMaxActiveStores: 2 });
    const commands = [aCommand({ owner: 'alice' }), aCommand({ owner: 'bob' }), aCommand({ owner: 'carol' })];

    const { decisions } = decideAll(commands, { limits });

    expect(outcomes(decisions)).toEqual(['approved', 'approved', 'rejected']);
    expect(decisions[2]).toMatchObject({
      reason: 'PlatformFull',
      message: expect.stringMatching(/^platform full: 2 of 2 active stores/),
    });
  });

  it("applies an owner's override and the defaults for what it leaves out", () => {
    const limits = someLimits({ overrides: { bench: { maxActiveStores: 5 } } });
    const commands = Array.from({ length: 6 }, () => aCommand({ owner: 'bench' }));

    const bench = decideAll(commands, { limits });
    const alice = decideAll([aCommand(), aCommand(), aCommand(), aCommand()], { limits });
    const benchRate = decide(createdAndDeleted(10, { owner: 'bench' }), aCommand({ owner: 'bench' }), limits, start);

    expect(outcomes(bench.decisions)).toEqual(['approved', 'approved', 'approved', 'approved', 'approved', 'rejected']);
    expect(outcomes(alice.decisions)).toEqual(['approved', 'approved', 'approved', 'rejected']);
    expect(benchRate.decision).toMatchObject({ reason: 'OwnerRateLimited' });
  });

  it('answers a command it already decided with the same decision and changes nothing', () => {
    const approved = aCommand();
    const { ledger } = decideAll([approved, aCommand(), aCommand()]);
    const rejected = aCommand();
    const afterRejection = decide(ledger, rejected, someLimits(), start).ledger;
    const later = minutesAfter(5);

    const again = decide(afterRejection, approved, someLimits(), later);
    const freed = release(afterRejection, approved.storeId, later);
    const rejectedAgain = decide(freed, rejected, someLimits(), later);

    expect(again.ledger).toBe(afterRejection);
    expect(again.decision).toEqual({ outcome: 'approved', at: start.getTime() });
    expect(rejectedAgain.ledger).toBe(freed);
    expect(rejectedAgain.decision).toMatchObject({ outcome: 'rejected', reason: 'QuotaExceeded', at: start.getTime() });
  });

  it('announces nothing for a store deleted since it was approved', () => {
    const command = aCommand();
    const approved = decide(emptyLedger, command, someLimits(), start).ledger;
    const deleted = release(approved, command.storeId, start);

    const sut = decide(deleted, command, someLimits(), minutesAfter(1));

    expect(sut.decision.outcome).toBe('withdrawn');
    expect(sut.ledger).toBe(deleted);
  });

  it('withdraws a store deleted before its command was decided, without taking a slot', () => {
    const command = aCommand();
    const deleted = release(emptyLedger, command.storeId, start);

    const sut = decide(deleted, command, someLimits(), minutesAfter(1));

    expect(sut.decision.outcome).toBe('withdrawn');
    expect(sut.ledger.active).toEqual({});
    expect(sut.ledger.creations).toEqual([]);
  });

  it('forgets creations after an hour and decisions after a day', () => {
    const old = aCommand();
    const recent = aCommand();
    const ledger = decideAll([old]).ledger;
    const later = decide(ledger, recent, someLimits(), minutesAfter(23 * 60)).ledger;

    const sut = decide(later, aCommand(), someLimits(), new Date(start.getTime() + DECISION_RETENTION_MS));

    expect(sut.ledger.creations.map((creation) => creation.storeId)).not.toContain(recent.storeId);
    expect(Object.keys(sut.ledger.decisions)).not.toContain(old.storeId);
    expect(Object.keys(sut.ledger.decisions)).toContain(recent.storeId);
    expect(Object.keys(sut.ledger.active)).toContain(old.storeId);
  });

  it('forgets the oldest rejections early once it remembers too many', () => {
    const rejection = (minute: number): Decision => ({
      outcome: 'rejected',
      at: minutesAfter(minute).getTime(),
      reason: 'QuotaExceeded',
      message: 'quota: 3 of 3 active stores',
    });
    const decisions = Object.fromEntries(
      Array.from({ length: MAX_REMEMBERED_REJECTIONS }, (_, i) => [`rejected-${i}`, rejection(i / 100)]),
    );
    const full = decideAll([aCommand(), aCommand(), aCommand()], { ledger: { ...emptyLedger, decisions } }).ledger;
    const refused = aCommand();

    const sut = decide(full, refused, someLimits(), minutesAfter(30));

    const remembered = Object.values(sut.ledger.decisions).filter((decision) => decision.outcome === 'rejected');
    expect(remembered).toHaveLength(MAX_REMEMBERED_REJECTIONS);
    expect(Object.keys(sut.ledger.decisions)).not.toContain('rejected-0');
    expect(Object.keys(sut.ledger.decisions)).toContain(refused.storeId);
    expect(Object.keys(sut.ledger.active)).toHaveLength(3);
  });

  it('still recognises an active store whose decision was forgotten', () => {
    const command = aCommand();
    const approved = decide(emptyLedger, command, someLimits(), start).ledger;
    const dayLater = new Date(start.getTime() + DECISION_RETENTION_MS + HOUR_MS);
    const pruned = decide(approved, aCommand({ owner: 'bob' }), someLimits(), dayLater).ledger;

    const sut = decide(pruned, command, someLimits(), dayLater);

    expect(Object.keys(pruned.decisions)).not.toContain(command.storeId);
    expect(sut.decision).toEqual({ outcome: 'approved', at: start.getTime() });
    expect(sut.ledger).toBe(pruned);
  });
});

describe(release.name, () => {
  it('frees the slot so the owner can create again', () => {
    const first = aCommand();
    const { ledger } = decideAll([first, aCommand(), aCommand()]);

    const sut = release(ledger, first.storeId, start);

    expect(Object.keys(sut.active)).not.toContain(first.storeId);
    expect(decide(sut, aCommand(), someLimits(), start).decision.outcome).toBe('approved');
  });

  it('frees a slot once, however often the store is released', () => {
    const command = aCommand();
    const approved = decide(emptyLedger, command, someLimits(), start).ledger;
    const once = release(approved, command.storeId, start);

    const sut = release(once, command.storeId, minutesAfter(1));

    expect(sut).toBe(once);
  });

  it('changes nothing for a store it rejected', () => {
    const { ledger } = decideAll([aCommand(), aCommand(), aCommand()]);
    const rejected = aCommand();
    const afterRejection = decide(ledger, rejected, someLimits(), start).ledger;

    expect(release(afterRejection, rejected.storeId, start)).toBe(afterRejection);
  });
});
