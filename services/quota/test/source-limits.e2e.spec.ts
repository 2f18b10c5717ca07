import { INestApplication } from '@nestjs/common';
import { ActorSchema, create, CreateStoreCommand, Step } from '@urumi/contracts';
import { durableName } from '@urumi/messaging';
import { quotaConfigFromEnv } from '../src/config/quota.config';
import { createQuotaApp } from '../src/quota.app';
import { aCreateCommand, eventually, isolate, Isolation, publishCommand, someLimits, statusEvents } from './support';

jest.setTimeout(60_000);

const PER_SOURCE = 2;

/** Per-source limits through the whole service: what the gateway counts as one source, quota counts as one too. */
describe(`${createQuotaApp.name} per-source limits`, () => {
  let isolation: Isolation;
  let app: INestApplication;
  let durablePrefix: string;

  beforeAll(async () => {
    isolation = await isolate();
    durablePrefix = `quota-${isolation.id}`;
    app = await createQuotaApp(
      {
        ...quotaConfigFromEnv({}),
        nats: { servers: isolation.natsUrl },
        bucket: isolation.bucket,
        limits: someLimits({ maxActiveStores: 100, maxCreatesPerSourcePerHour: PER_SOURCE }),
      },
      { wiring: { stream: isolation.stream, subjects: isolation.subjects, durablePrefix } },
    );
    await app.init();
    await app.startAllMicroservices();
  });

  afterAll(async () => {
    await app?.close();
    await isolation?.dispose();
  });

  function fromSource(owner: string, sourceIp: string): CreateStoreCommand {
    const command = aCreateCommand({ owner });
    return { ...command, requestedBy: create(ActorSchema, { user: owner, role: 'tenant', sourceIp }) };
  }

  async function decisionsFor(commands: readonly CreateStoreCommand[]): Promise<string[]> {
    for (const command of commands) {
      await publishCommand(isolation, command);
      // One at a time, so the order of the decisions is the order of the commands.
      await eventually(async () => {
        const info = await isolation.jsm.consumers.info(
          isolation.stream,
          durableName(durablePrefix, isolation.subjects.createStore),
        );
        expect({ pending: info.num_pending, unacked: info.num_ack_pending }).toEqual({ pending: 0, unacked: 0 });
      });
    }
    const approved = new Set((await statusEvents(isolation, Step.APPROVED)).map((event) => event.storeId));
    const rejected = new Map((await statusEvents(isolation, Step.REJECTED)).map((event) => [event.storeId, event]));
    return commands.map((command) =>
      approved.has(command.storeId) ? 'approved' : (rejected.get(command.storeId)?.reason ?? 'undecided'),
    );
  }

  it('counts the addresses of one IPv6 /64 as one source, whoever the owner', async () => {
    const commands = ['2001:db8:5:5::1', '2001:db8:5:5::2', '2001:db8:5:5:ffff::3'].map((ip, i) =>
      fromSource(`v6-owner-${i}`, ip),
    );

    expect(await decisionsFor(commands)).toEqual(['approved', 'approved', 'SourceRateLimited']);
  });

  it('limits commands without a source address as one source of their own', async () => {
    const commands = ['', ' ', ''].map((ip, i) => fromSource(`no-source-owner-${i}`, ip));

    expect(await decisionsFor(commands)).toEqual(['approved', 'approved', 'SourceRateLimited']);
  });
});
