import { Test, TestingModule } from '@nestjs/testing';
import { Step } from '@urumi/contracts';
import { MessagingModule } from '@urumi/messaging';
import {
  aCreateCommand,
  aStatusChange,
  isolate,
  Isolation,
  RecordingLogger,
  someLimits,
  statusEvents,
} from '../../test/support';
import { Decision, QuotaLimits } from './ledger';
import { LedgerStore } from './ledger.store';
import { QuotaModule } from './quota.module';
import { QuotaService } from './quota.service';

// Real NATS: the ledger lives in a JetStream KV bucket shared by the replicas.
jest.setTimeout(60_000);

describe(QuotaService.name, () => {
  const modules: TestingModule[] = [];
  let isolation: Isolation;

  beforeEach(async () => {
    isolation = await isolate();
  });

  afterEach(async () => {
    await Promise.all(modules.splice(0).map((moduleRef) => moduleRef.close()));
    await isolation.dispose();
  });

  /** One quota replica: its own NATS connections, the shared bucket and stream. */
  async function aReplica(limits: QuotaLimits): Promise<{ sut: QuotaService; ledger: LedgerStore }> {
    const moduleRef = await Test.createTestingModule({
      imports: [
        MessagingModule.forRoot({ nats: { servers: isolation.natsUrl }, name: 'quota-test' }),
        QuotaModule.forRoot({ limits, bucket: isolation.bucket, subjects: isolation.subjects }),
      ],
    })
      .setLogger(new RecordingLogger())
      .compile();
    await moduleRef.init();
    modules.push(moduleRef);
    return { sut: moduleRef.get(QuotaService), ledger: moduleRef.get(LedgerStore) };
  }

  const outcomes = (decisions: readonly Decision[]) => decisions.map((decision) => decision.outcome).sort();
  const count = (decisions: readonly Decision[], outcome: Decision['outcome']) =>
    decisions.filter((decision) => decision.outcome === outcome).length;

  it('admits exactly the cap when 20 creations for one owner race through two replicas', async () => {
    const limits = someLimits({ maxActiveStores: 5 });
    const replicas = [await aReplica(limits), await aReplica(limits)];
    const commands = Array.from({ length: 20 }, () => aCreateCommand({ owner: 'racer' }));

    const decisions = await Promise.all(
      commands.map((command, index) => replicas[index % 2]!.sut.decideCreate(command)),
    );

    const ledger = await replicas[0]!.ledger.read();
    const approved = await statusEvents(isolation, Step.APPROVED);
    const rejected = await statusEvents(isolation, Step.REJECTED);
    expect(count(decisions, 'approved')).toBe(5);
    expect(count(decisions, 'rejected')).toBe(15);
    expect(Object.keys(ledger.active)).toHaveLength(5);
    expect(approved.map((event) => event.storeId).sort()).toEqual(Object.keys(ledger.active).sort());
    expect(rejected).toHaveLength(15);
    expect(
      rejected.every((event) => event.reason === 'QuotaExceeded' && event.message === 'quota: 5 of 5 active stores'),
    ).toBe(true);
  });

  it('decides a duplicate command once: one decision, one slot, one event', async () => {
    const replicas = [await aReplica(someLimits()), await aReplica(someLimits())];
    const command = aCreateCommand();

    const decisions = await Promise.all([
      replicas[0]!.sut.decideCreate(command),
      replicas[1]!.sut.decideCreate(command),
      replicas[0]!.sut.decideCreate(command),
    ]);
    const redelivered = await replicas[1]!.sut.decideCreate(command);

    const ledger = await replicas[0]!.ledger.read();
    const approved = await statusEvents(isolation, Step.APPROVED);
    expect(new Set([...decisions, redelivered].map((decision) => JSON.stringify(decision))).size).toBe(1);
    expect(Object.keys(ledger.active)).toEqual([command.storeId]);
    expect(Object.keys(ledger.decisions)).toEqual([command.storeId]);
    expect(ledger.creations).toHaveLength(1);
    expect(approved.map((event) => event.storeId)).toEqual([command.storeId]);
    expect(approved[0]).toMatchObject({
      name: command.name,
      engine: command.engine,
      owner: 'alice',
      requestId: command.requestId,
    });
  });

  it('frees the slot of a deleted store exactly once, however often the deletion is reported', async () => {
    const limits = someLimits({ maxActiveStores: 2 });
    const replicas = [await aReplica(limits), await aReplica(limits)];
    const [first, second] = [aCreateCommand(), aCreateCommand()];
    await replicas[0]!.sut.decideCreate(first);
    await replicas[0]!.sut.decideCreate(second);
    const deleted = aStatusChange(first, Step.DELETED);

    const releases = await Promise.all([
      replicas[0]!.sut.release(deleted, Step.DELETED),
      replicas[1]!.sut.release(deleted, Step.DELETED),
      replicas[1]!.sut.release(deleted, Step.DELETED),
    ]);
    const next = await Promise.all(
      [aCreateCommand(), aCreateCommand()].map((command) => replicas[1]!.sut.decideCreate(command)),
    );

    const ledger = await replicas[0]!.ledger.read();
    expect(releases.sort()).toEqual(['freed', 'unchanged', 'unchanged']);
    expect(outcomes(next)).toEqual(['approved', 'rejected']);
    expect(Object.keys(ledger.active)).toHaveLength(2);
    expect(Object.keys(ledger.active)).not.toContain(first.storeId);
  });
});
