import { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { nanos, NatsConnection } from 'nats';
import {
  defineStream,
  JetStreamPublisher,
  MessagingHealthIndicator,
  MessagingModule,
  NATS_CONNECTION,
  PublishAck,
  PublishError,
  StreamDefinition,
} from '../src';
import { testSandbox } from '@urumi/sandbox';
import { adminConnection, CapturingLogger, deleteStream, eventually, natsUrl, uniqueStream } from './support';

jest.setTimeout(30_000);

describe(JetStreamPublisher.name, () => {
  const logger = new CapturingLogger();
  const apps: INestApplicationContext[] = [];
  let admin: NatsConnection;
  const streams: StreamDefinition[] = [];

  beforeAll(async () => {
    admin = await adminConnection();
  });

  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
    await Promise.all(streams.splice(0).map((stream) => deleteStream(admin, stream)));
  });

  afterAll(async () => {
    await admin.close();
  });

  async function startModule(...declared: StreamDefinition[]): Promise<INestApplicationContext> {
    streams.push(...declared);
    const app = await NestFactory.createApplicationContext(
      MessagingModule.forRoot({ nats: { servers: await natsUrl() }, name: 'messaging-test', streams: declared }),
      { logger },
    );
    apps.push(app);
    return app;
  }

  it('stores one message when the same msgId is published twice', async () => {
    const { stream, subject } = uniqueStream();
    const sut = (await startModule(stream)).get(JetStreamPublisher);

    const first = await sut.publish(subject('created'), '{"n":1}', { msgId: 'store-1:create' });
    const second = await sut.publish(subject('created'), '{"n":1}', { msgId: 'store-1:create' });

    expect(first.duplicate).toBe(false);
    expect(second).toEqual({ stream: stream.name, seq: first.seq, duplicate: true });
    const info = await (await admin.jetstreamManager()).streams.info(stream.name);
    expect(info.state.messages).toBe(1);
  });

  it('sends again with the same msgId when the ack times out, and the stream keeps one message', async () => {
    const { stream, subject } = uniqueStream();
    const sut = (await startModule(stream)).get(JetStreamPublisher);
    const natsServer = (await testSandbox().status()).find((component) => component.name === 'nats-server');
    if (natsServer?.pid === undefined) throw new Error('the test sandbox runs no nats-server');
    const retries = () => logger.matching(/sending it again with the same msgId.*"msgId":"stalled-1"/).length;

    // A stalled server reads the first send only once it runs again: its ack is lost, the message is not.
    process.kill(natsServer.pid, 'SIGSTOP');
    let publishing: Promise<PublishAck>;
    try {
      publishing = sut.publish(subject('stalled'), '{"n":1}', { msgId: 'stalled-1', timeoutMs: 500, attempts: 5 });
      await eventually(() => expect(retries()).toBeGreaterThanOrEqual(1), 5_000);
    } finally {
      process.kill(natsServer.pid, 'SIGCONT');
    }
    const ack = await publishing;

    const jsm = await admin.jetstreamManager();
    expect((await jsm.streams.info(stream.name)).state.messages).toBe(1);
    const stored = await jsm.streams.getMessage(stream.name, { seq: ack.seq });
    expect(stored.header.get('Nats-Msg-Id')).toBe('stalled-1');
    expect(ack).toEqual({ stream: stream.name, seq: stored.seq, duplicate: true });
  });

  it('sets Nats-Msg-Id, the given headers and, for JSON, the content type', async () => {
    const { stream, subject } = uniqueStream();
    const sut = (await startModule(stream)).get(JetStreamPublisher);

    const ack = await sut.publishJson(
      subject('json'),
      { name: 'shop' },
      { msgId: 'id-7', headers: { 'X-Trace': 't1' } },
    );

    const stored = await (await admin.jetstreamManager()).streams.getMessage(stream.name, { seq: ack.seq });
    expect(stored.header.get('Nats-Msg-Id')).toBe('id-7');
    expect(stored.header.get('X-Trace')).toBe('t1');
    expect(stored.header.get('Content-Type')).toBe('application/json');
    expect(stored.json()).toEqual({ name: 'shop' });
  });

  it('fails with a PublishError that names the problem when no stream takes the subject', async () => {
    const sut = (await startModule()).get(JetStreamPublisher);

    const publishing = sut.publish('msgtest.nowhere.at-all', 'x', { msgId: 'lost-1' });

    await expect(publishing).rejects.toBeInstanceOf(PublishError);
    await expect(publishing).rejects.toMatchObject({
      reason: 'no-stream',
      message: expect.stringMatching(/msgtest\.nowhere\.at-all.*no JetStream stream captures this subject/),
    });
  });

  it('refuses to publish without a msgId', async () => {
    const sut = (await startModule()).get(JetStreamPublisher);

    await expect(sut.publish('msgtest.any', 'x', { msgId: '' })).rejects.toThrow(/needs a msgId/);
  });

  it('creates its streams and the dead-letter stream at start-up, and a second start changes nothing', async () => {
    const { stream } = uniqueStream();
    const jsm = await admin.jetstreamManager();

    await startModule(stream);
    const created = await jsm.streams.info(stream.name);
    await startModule(stream);
    const again = await jsm.streams.info(stream.name);

    expect(again.created).toEqual(created.created);
    expect(again.config).toEqual(created.config);
    expect(created.config).toMatchObject({
      subjects: stream.subjects,
      storage: 'file',
      retention: 'limits',
      duplicate_window: nanos(stream.duplicateWindowMs),
    });
    const deadLetters = await jsm.streams.info('DEADLETTER');
    expect(deadLetters.config).toMatchObject({
      subjects: ['deadletter.>'],
      storage: 'file',
      retention: 'limits',
      max_age: nanos(14 * 24 * 3_600_000),
    });
  });

  it('updates an existing stream to a changed definition', async () => {
    const { stream } = uniqueStream();
    await startModule(stream);

    await startModule(defineStream({ ...stream, duplicateWindowMs: 30_000 }));

    const info = await (await admin.jetstreamManager()).streams.info(stream.name);
    expect(info.config.duplicate_window).toBe(nanos(30_000));
  });
});

describe(MessagingHealthIndicator.name, () => {
  it('is ready while connected, and not once the connection is closed', async () => {
    const app = await NestFactory.createApplicationContext(
      MessagingModule.forRoot({ nats: { servers: await natsUrl() }, name: 'messaging-test-health' }),
      { logger: new CapturingLogger() },
    );
    const sut = app.get(MessagingHealthIndicator);

    await expect(sut.isReady()).resolves.toBe(true);
    await expect(sut.isHealthy()).resolves.toEqual({ nats: { status: 'up' } });

    await app.get<NatsConnection>(NATS_CONNECTION).close();
    await expect(sut.isReady()).resolves.toBe(false);
    await expect(sut.isHealthy('broker')).resolves.toEqual({
      broker: { status: 'down', message: 'NATS is disconnected or JetStream does not answer' },
    });
    await app.close();
  });
});
