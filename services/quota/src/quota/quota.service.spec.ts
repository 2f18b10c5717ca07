import { Test, TestingModule } from '@nestjs/testing';
import { Step } from '@urumi/contracts';
import { MessagingModule } from '@urumi/messaging';
import { NatsCluster } from '@urumi/sandbox';
import { connect } from 'nats';
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
  async function aReplica(
    limits: QuotaLimits,
    natsUrl = isolation.natsUrl,
  ): Promise<{ sut: QuotaService; ledger: LedgerStore }> {
    const moduleRef = await Test.createTestingModule({
      imports: [
        MessagingModule.forRoot({ nats: { servers: natsUrl }, name: 'quota-test' }),
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

    const owner = await replicas[0]!.ledger.readOwner('racer');
    const platform = await replicas[0]!.ledger.readPlatform();
    const approved = await statusEvents(isolation, Step.APPROVED);
    const rejected = await statusEvents(isolation, Step.REJECTED);
    expect(count(decisions, 'approved')).toBe(5);
    expect(count(decisions, 'rejected')).toBe(15);
    expect(Object.keys(owner.active)).toHaveLength(5);
    expect(Object.keys(platform.active).sort()).toEqual(Object.keys(owner.active).sort());
    expect(approved.map((event) => event.storeId).sort()).toEqual(Object.keys(owner.active).sort());
    expect(rejected).toHaveLength(15);
    expect(
      rejected.every((event) => event.reason === 'QuotaExceeded' && event.message === 'quota: 5 of 5 active stores'),
    ).toBe(true);
  });

  it('admits exactly the platform cap when 20 owners race through two replicas, and gives back what the refused reserved', async () => {
    const limits = someLimits({}, 5);
    const replicas = [await aReplica(limits), await aReplica(limits)];
    const commands = Array.from({ length: 20 }, (_, index) => aCreateCommand({ owner: `crowd-${index}` }));

    const decisions = await Promise.all(
      commands.map((command, index) => replicas[index % 2]!.sut.decideCreate(command)),
    );

    const platform = await replicas[0]!.ledger.readPlatform();
    const source = await replicas[0]!.ledger.readSource('192.0.2.10');
    const owners = await Promise.all(commands.map((command) => replicas[0]!.ledger.readOwner(command.owner)));
    const approvedIds = commands.filter((_, index) => decisions[index]!.outcome === 'approved').map((c) => c.storeId);
    expect(count(decisions, 'approved')).toBe(5);
    expect(
      decisions.filter((decision) => decision.outcome === 'rejected' && decision.reason === 'PlatformFull'),
    ).toHaveLength(15);
    expect(Object.keys(platform.active).sort()).toEqual(approvedIds.sort());
    expect(source.creations.map((creation) => creation.storeId).sort()).toEqual(approvedIds.sort());
    expect(owners.flatMap((owner) => Object.keys(owner.active)).sort()).toEqual(approvedIds.sort());
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

    const ledger = await replicas[0]!.ledger.readOwner('alice');
    const platform = await replicas[0]!.ledger.readPlatform();
    const approved = await statusEvents(isolation, Step.APPROVED);
    expect(new Set([...decisions, redelivered].map((decision) => JSON.stringify(decision))).size).toBe(1);
    expect(Object.keys(ledger.active)).toEqual([command.storeId]);
    expect(Object.keys(platform.active)).toEqual([command.storeId]);
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

    const ledger = await replicas[0]!.ledger.readOwner('alice');
    const platform = await replicas[0]!.ledger.readPlatform();
    expect(releases.sort()).toEqual(['freed', 'unchanged', 'unchanged']);
    expect(outcomes(next)).toEqual(['approved', 'rejected']);
    expect(Object.keys(ledger.active)).toHaveLength(2);
    expect(Object.keys(ledger.active)).not.toContain(first.storeId);
    expect(Object.keys(platform.active).sort()).toEqual(Object.keys(ledger.active).sort());
  });

  it("keeps deciding after more stores than one NATS message could list, every ledger key's size bounded", async () => {
    // A server whose max_payload a day of history would pass in a single value: 400 owners create and delete a store each.
    const maxPayload = 32 * 1024;
    const nats = await NatsCluster.start({
      size: 1,
      config: (server) =>
        `listen: 127.0.0.1:${server.client}\nhttp: 127.0.0.1:${server.monitor}\nmax_payload: ${maxPayload}\n` +
        `jetstream { store_dir: "${server.storeDir}" }\n`,
    });
    const connection = await connect({ servers: nats.urls });
    try {
      await (
        await connection.jetstreamManager()
      ).streams.add({ name: isolation.stream, subjects: [`${isolation.id}.>`] });
      const { sut } = await aReplica(someLimits({ maxActiveStores: 1 }, 5), nats.urls[0]);
      const cycles = Array.from({ length: 400 }, (_, index) => {
        const command = aCreateCommand({ owner: `owner-${index}` });
        command.requestedBy!.sourceIp = `198.51.${Math.floor(index / 200)}.${index % 200}`;
        return command;
      });

      const decisions: Decision[] = [];
      for (const command of cycles) {
        decisions.push(await sut.decideCreate(command));
        await sut.release(aStatusChange(command, Step.DELETED), Step.DELETED);
      }
      const last = await sut.decideCreate(aCreateCommand({ owner: 'owner-last' }));

      const kv = await connection.jetstream().views.kv(isolation.bucket);
      const sizes: number[] = [];
      for await (const key of await kv.keys()) sizes.push((await kv.get(key))!.length);
      expect(count(decisions, 'approved')).toBe(cycles.length);
      expect(last.outcome).toBe('approved');
      expect(Math.max(...sizes)).toBeLessThan(2 * 1024);
    } finally {
      await Promise.all(modules.splice(0).map((moduleRef) => moduleRef.close()));
      await connection.close();
      await nats.down();
    }
  });
});
