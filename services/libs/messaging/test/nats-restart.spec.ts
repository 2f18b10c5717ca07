import { INestApplicationContext, Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NatsConnection } from 'nats';
import { testSandbox } from '@urumi/sandbox';
import { durableName, JetStreamPublisher, JetStreamServer, MessagingModule, PublishError } from '../src';
import {
  adminConnection,
  CapturingLogger,
  consumerInfo,
  deleteStream,
  eventually,
  handlerFor,
  natsUrl,
  RunningConsumer,
  sleep,
  startConsumer,
  uniqueStream,
} from './support';

// Restarting nats-server disturbs other tests only briefly, so this runs in a file of its own.
jest.setTimeout(120_000);

describe(`${JetStreamServer.name} across a nats-server restart`, () => {
  const logger = new CapturingLogger();
  const { stream, subject } = uniqueStream();
  let publishing: INestApplicationContext;
  let consuming: RunningConsumer;
  let admin: NatsConnection;

  beforeAll(() => Logger.overrideLogger(logger));

  afterAll(async () => {
    await consuming?.app.close();
    await publishing?.close();
    if (admin) {
      await deleteStream(admin, stream);
      await admin.close();
    }
  });

  /** Retries while the server is still coming back: the same msgId makes a retry safe. */
  async function publishUntilStored(publisher: JetStreamPublisher, id: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await publisher.publishJson(subject('cmd'), { id }, { msgId: id, timeoutMs: 2_000 });
        return;
      } catch (error) {
        if (!(error instanceof PublishError) || attempt === 20) throw error;
        await sleep(500);
      }
    }
  }

  it('reconnects, and its consumers resume where they were', async () => {
    publishing = await NestFactory.createApplicationContext(
      MessagingModule.forRoot({
        nats: { servers: await natsUrl() },
        name: 'messaging-restart-test',
        streams: [stream],
      }),
      { logger },
    );
    const publisher = publishing.get(JetStreamPublisher);
    const handled: string[] = [];
    consuming = await startConsumer(
      { durablePrefix: 'svc', stream: stream.name, pullExpiresMs: 1_000 },
      [handlerFor(subject('cmd'), (payload) => void handled.push((payload as { id: string }).id))],
      { logger },
    );
    await publishUntilStored(publisher, 'before');
    await eventually(() => expect(handled).toEqual(['before']));

    await testSandbox().restart('nats-server');
    // Several pull requests expire before the next message: consuming must go on after the reconnect.
    await sleep(3_000);
    await publishUntilStored(publisher, 'after');

    await eventually(() => expect(handled).toEqual(['before', 'after']), 30_000);
    expect(logger.matching(/Disconnected from NATS/).length).toBeGreaterThanOrEqual(2);
    expect(logger.matching(/Reconnected to NATS/).length).toBeGreaterThanOrEqual(2);
    admin = await adminConnection();
    const info = await consumerInfo(admin, stream.name, durableName('svc', subject('cmd')));
    expect(info.num_pending).toBe(0);
    expect(info.num_ack_pending).toBe(0);
  });
});
