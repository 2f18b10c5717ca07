import { Injectable, Logger, Module, OnModuleInit } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NatsConnection } from 'nats';
import { TcpProxy } from '@urumi/sandbox';
import { durableName, JetStreamPublisher, JetStreamServer, KeyValueBuckets, MessagingModule } from '../src';
import {
  adminConnection,
  CapturingLogger,
  consumerInfo,
  createStream,
  deleteStream,
  handlerFor,
  natsUrl,
  uniqueStream,
} from './support';

jest.setTimeout(60_000);

/** Longer than the 5 s a JetStream API request waits for its answer. */
const UNANSWERED_MS = 6_500;

/**
 * A service that starts while JetStream does not answer (a stalled server, a partition after the connect, a cluster
 * electing its leader) waits for it: it neither crashes nor starts half-made. Each test connects through a proxy that
 * holds back the server's answers from the first JetStream API request on, for longer than a request waits.
 */
describe('starting while JetStream does not answer', () => {
  const logger = new CapturingLogger();
  const proxies: TcpProxy[] = [];
  const closers: (() => Promise<unknown>)[] = [];
  let admin: NatsConnection;

  beforeAll(async () => {
    Logger.overrideLogger(logger);
    admin = await adminConnection();
  });

  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
    for (const proxy of proxies.splice(0)) await proxy.close();
  });

  afterAll(() => admin?.close());

  /** A proxy to the test NATS that stops answering once the client first calls the JetStream API. */
  async function unansweringProxy(): Promise<TcpProxy> {
    const proxy = await TcpProxy.start(await natsUrl());
    proxies.push(proxy);
    void proxy.holdOnceClientSends(/\$JS\.API\./, UNANSWERED_MS);
    return proxy;
  }

  it('the messaging module ensures its streams and opens its buckets once JetStream answers', async () => {
    const { stream, subject } = uniqueStream();
    const bucket = `unanswered_${stream.name.toLowerCase()}`;
    closers.push(
      () => deleteStream(admin, stream),
      async () => (await admin.jetstreamManager()).streams.delete(`KV_${bucket}`).catch(() => false),
    );
    const proxy = await unansweringProxy();

    @Injectable()
    class OpensBucket implements OnModuleInit {
      opened = false;
      constructor(private readonly buckets: KeyValueBuckets) {}
      async onModuleInit(): Promise<void> {
        await this.buckets.open(bucket);
        this.opened = true;
      }
    }
    @Module({
      imports: [MessagingModule.forRoot({ nats: { servers: proxy.url }, name: 'unanswered-test', streams: [stream] })],
      providers: [OpensBucket],
    })
    class ServiceModule {}

    const app = await NestFactory.createApplicationContext(ServiceModule, { logger });
    closers.push(() => app.close());

    expect(app.get(OpensBucket).opened).toBe(true);
    const jsm = await admin.jetstreamManager();
    expect((await jsm.streams.info(stream.name)).config.subjects).toEqual(stream.subjects);
    expect((await jsm.streams.info(`KV_${bucket}`)).config.name).toBe(`KV_${bucket}`);
    expect(logger.matching(/JetStream did not answer/).length).toBeGreaterThanOrEqual(1);
    await expect(
      app.get(JetStreamPublisher).publish(subject('after'), 'after', { msgId: 'a1' }),
    ).resolves.toMatchObject({ stream: stream.name, duplicate: false });
  });

  it('a consumer creates its durable consumers once JetStream answers', async () => {
    const { stream, subject } = uniqueStream();
    await createStream(admin, stream);
    closers.push(() => deleteStream(admin, stream));
    const proxy = await unansweringProxy();
    const server = new JetStreamServer({
      nats: { servers: proxy.url },
      durablePrefix: 'unanswered',
      stream: stream.name,
    });
    @Module({ controllers: [handlerFor(subject('cmd'), () => undefined)] })
    class ConsumerModule {}
    const app = await NestFactory.createMicroservice(ConsumerModule, { strategy: server, logger });
    closers.push(() => app.close());

    await app.listen();

    const info = await consumerInfo(admin, stream.name, durableName('unanswered', subject('cmd')));
    expect(info.config.filter_subject).toBe(subject('cmd'));
    expect(logger.matching(/JetStream did not answer/).length).toBeGreaterThanOrEqual(1);
  });
});
