import { INestApplication } from '@nestjs/common';
import {
  create,
  CreateStoreCommandSchema,
  encode,
  Engine,
  Step,
  StoreStatusChangedSchema,
  subjects as storeSubjects,
} from '@urumi/contracts';
import { DEAD_LETTER_STREAM, deadLetterSubject, durableName } from '@urumi/messaging';
import { TcpProxy } from '@urumi/sandbox';
import { quotaConfigFromEnv } from '../src/config/quota.config';
import { createQuotaApp } from '../src/quota.app';
import {
  aCreateCommand,
  aStatusChange,
  eventually,
  isolate,
  Isolation,
  publishCommand,
  RecordingLogger,
  someLimits,
  statusEvents,
} from './support';

// The whole service against the test sandbox's NATS: commands in through durable consumers, decisions out.
jest.setTimeout(60_000);

describe(createQuotaApp.name, () => {
  const logger = new RecordingLogger();
  let isolation: Isolation;
  let app: INestApplication;
  let durablePrefix: string;
  const proxies: TcpProxy[] = [];

  /** A quota replica: its own NATS connection, the shared durable consumers and ledger bucket. */
  async function startReplica(natsUrl = isolation.natsUrl): Promise<INestApplication> {
    const config = {
      ...quotaConfigFromEnv({}),
      nats: { servers: natsUrl },
      bucket: isolation.bucket,
      limits: someLimits({ maxActiveStores: 2 }),
    };
    const replica = await createQuotaApp(config, {
      logger,
      wiring: {
        stream: isolation.stream,
        subjects: isolation.subjects,
        durablePrefix,
        consumer: { maxDeliver: 3, backoffMs: [100] },
      },
    });
    await replica.init();
    await replica.startAllMicroservices();
    return replica;
  }

  beforeAll(async () => {
    isolation = await isolate();
    durablePrefix = `quota-${isolation.id}`;
    app = await startReplica();
  });

  afterAll(async () => {
    await app.close();
    for (const proxy of proxies) await proxy.close();
    await isolation.dispose();
  });

  /** Every message published so far has been handled and acked (or dead-lettered). */
  async function settled(): Promise<void> {
    const { subjects, stream, jsm } = isolation;
    await eventually(async () => {
      for (const pattern of [subjects.createStore, subjects.deleted]) {
        const info = await jsm.consumers.info(stream, durableName(durablePrefix, pattern));
        expect({ pending: info.num_pending, unacked: info.num_ack_pending }).toEqual({ pending: 0, unacked: 0 });
      }
    });
  }

  it('announces one decision per command, even for a command published twice', async () => {
    const [first, second, third] = [
      aCreateCommand({ owner: 'erin' }),
      aCreateCommand({ owner: 'erin' }),
      aCreateCommand({ owner: 'erin' }),
    ];

    await publishCommand(isolation, first!);
    await publishCommand(isolation, second!);
    await isolation.connection
      .jetstream()
      .publish(isolation.subjects.createStore, JSON.stringify(encode(CreateStoreCommandSchema, first!)), {
        msgID: `retry:${first!.storeId}`,
      });
    await settled();
    await publishCommand(isolation, third!);
    await settled();

    const approved = await statusEvents(isolation, Step.APPROVED);
    const rejected = await statusEvents(isolation, Step.REJECTED);
    expect(approved.map((event) => event.storeId)).toEqual(expect.arrayContaining([first!.storeId, second!.storeId]));
    expect(approved.filter((event) => event.owner === 'erin')).toHaveLength(2);
    expect(rejected.filter((event) => event.owner === 'erin')).toEqual([
      expect.objectContaining({
        storeId: third!.storeId,
        name: third!.name,
        engine: Engine.WOOCOMMERCE,
        owner: 'erin',
        step: Step.REJECTED,
        reason: 'QuotaExceeded',
        message: 'quota: 2 of 2 active stores',
        requestId: third!.requestId,
        occurredAt: expect.anything(),
      }),
    ]);
    expect(logger.messagesLike({ msg: 'Decided store creation', storeId: third!.storeId })).toEqual([
      expect.objectContaining({ owner: 'erin', decision: 'rejected', reason: 'QuotaExceeded' }),
    ]);
  });

  it("frees the slot of a store that was deleted, and keeps a failed store's slot until it is deleted", async () => {
    const [first, second] = [aCreateCommand({ owner: 'frank' }), aCreateCommand({ owner: 'frank' })];
    await publishCommand(isolation, first!);
    await publishCommand(isolation, second!);
    await settled();
    const js = isolation.connection.jetstream();

    await js.publish(
      isolation.subjects.deleted,
      JSON.stringify(encode(StoreStatusChangedSchema, aStatusChange(first!, Step.DELETED))),
    );
    await js.publish(
      `${isolation.id}.${storeSubjects.status(Step.FAILED)}`,
      JSON.stringify(encode(StoreStatusChangedSchema, aStatusChange(second!, Step.FAILED))),
    );
    await settled();
    const later = [
      aCreateCommand({ owner: 'frank' }),
      aCreateCommand({ owner: 'frank' }),
      aCreateCommand({ owner: 'frank' }),
    ];
    for (const command of later) await publishCommand(isolation, command);
    await settled();

    const approved = (await statusEvents(isolation, Step.APPROVED)).filter((event) => event.owner === 'frank');
    const rejected = (await statusEvents(isolation, Step.REJECTED)).filter((event) => event.owner === 'frank');
    // The failed store still holds one of frank's two slots: one of the three later creates fits.
    expect(approved).toHaveLength(3);
    expect(rejected).toHaveLength(2);
  });

  it('is exact with two replicas deciding one owner’s creates at once: as many approved as the quota allows', async () => {
    const second = await startReplica();
    try {
      const commands = Array.from({ length: 12 }, () => aCreateCommand({ owner: 'hana' }));
      await Promise.all(commands.map((command) => publishCommand(isolation, command)));
      await settled();

      const approved = (await statusEvents(isolation, Step.APPROVED)).filter((event) => event.owner === 'hana');
      const rejected = (await statusEvents(isolation, Step.REJECTED)).filter((event) => event.owner === 'hana');
      expect(approved).toHaveLength(2);
      expect(rejected).toHaveLength(10);
      expect(new Set([...approved, ...rejected].map((event) => event.storeId)).size).toBe(12);
      // Each command decided once, by whichever replica pulled it.
      const decisions = logger
        .messagesLike({ msg: 'Decided store creation' })
        .filter((line) => commands.some((command) => command.storeId === line['storeId']));
      expect(decisions).toHaveLength(12);
    } finally {
      await second.close();
    }
  });

  it('starts a replica while NATS does not answer once it does, and the replica decides', async () => {
    // From the replica's first JetStream request on, NATS's answers are held back for longer than a request waits.
    const proxy = await TcpProxy.start(isolation.natsUrl);
    proxies.push(proxy);
    const released = proxy.holdOnceClientSends(/\$JS\.API\./, 6_500);
    const replica = await startReplica(proxy.url);
    await app.close();
    // The remaining tests run on this replica.
    app = replica;
    const command = aCreateCommand({ owner: 'ida' });
    await publishCommand(isolation, command);

    await eventually(async () =>
      expect((await statusEvents(isolation, Step.APPROVED)).map((event) => event.storeId)).toContain(command.storeId),
    );
    await released;
    expect(logger.messagesLike({ msg: 'JetStream did not answer; asking again until it does' }).length).toBeGreaterThan(
      0,
    );
  });

  it('dead-letters a command that can never be decided, and announces nothing for it', async () => {
    const js = isolation.connection.jetstream();
    const noOwner = { ...(encode(CreateStoreCommandSchema, aCreateCommand({ owner: 'grace' })) as object), owner: '' };
    const noEngine = create(CreateStoreCommandSchema, {
      ...aCreateCommand({ owner: 'grace' }),
      engine: Engine.UNSPECIFIED,
    });

    await js.publish(isolation.subjects.createStore, JSON.stringify(noOwner));
    await js.publish(isolation.subjects.createStore, JSON.stringify(encode(CreateStoreCommandSchema, noEngine)));
    await js.publish(isolation.subjects.createStore, '{"storeId": 42}');
    await settled();

    const filter = deadLetterSubject(isolation.subjects.createStore);
    const deadLetters = await isolation.jsm.streams.info(DEAD_LETTER_STREAM.name, { subjects_filter: filter });
    const decided = [
      ...(await statusEvents(isolation, Step.APPROVED)),
      ...(await statusEvents(isolation, Step.REJECTED)),
    ];
    expect(deadLetters.state.subjects?.[filter]).toBe(3);
    expect(decided.filter((event) => event.owner === 'grace')).toEqual([]);
  });
});
