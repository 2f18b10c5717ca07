import { Controller, Logger } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { metricSamples, metricValuesBy } from '@urumi/runtime';
import { NatsConnection } from 'nats';
import { Registry } from 'prom-client';
import {
  DeadLetterHeader,
  durableName,
  JetStreamContext,
  JetStreamPublisher,
  JetStreamServer,
  PoisonMessageError,
  StreamDefinition,
} from '../src';
import {
  adminConnection,
  CapturingLogger,
  consumerInfo,
  createStream,
  deadLettersOf,
  deferred,
  deleteStream,
  eventually,
  handlerFor,
  RunningConsumer,
  sleep,
  startConsumer,
  uniqueStream,
} from './support';

// Tests wait for redeliveries, ack timeouts and backoff on a real nats-server.
jest.setTimeout(60_000);

describe(JetStreamServer.name, () => {
  const logger = new CapturingLogger();
  const running: RunningConsumer[] = [];
  const streams: StreamDefinition[] = [];
  let admin: NatsConnection;
  let publisher: JetStreamPublisher;

  beforeAll(async () => {
    Logger.overrideLogger(logger);
    admin = await adminConnection();
    publisher = new JetStreamPublisher(admin);
  });

  afterEach(async () => {
    await Promise.all(running.splice(0).map(({ app }) => app.close()));
    await Promise.all(streams.splice(0).map((stream) => deleteStream(admin, stream)));
  });

  afterAll(async () => {
    await admin.close();
  });

  async function fixture() {
    const names = uniqueStream();
    await createStream(admin, names.stream);
    streams.push(names.stream);
    return names;
  }

  async function start(
    options: Omit<ConstructorParameters<typeof JetStreamServer>[0], 'nats'>,
    controllers: Parameters<typeof startConsumer>[1],
    rethrowHandlerErrors = false,
  ): Promise<RunningConsumer> {
    const consumer = await startConsumer(options, controllers, { logger, rethrowHandlerErrors });
    running.push(consumer);
    return consumer;
  }

  it('hands the decoded payload and the message facts to an @EventPattern handler, then acks', async () => {
    const { stream, subject } = await fixture();
    const seen = deferred<{ payload: unknown; context: JetStreamContext }>();
    await start({ durablePrefix: 'svc', stream: stream.name }, [
      handlerFor(subject('*'), (payload, context) => seen.resolve({ payload, context })),
    ]);

    const ack = await publisher.publishJson(subject('created'), { name: 'shop' }, { msgId: 'shop:create' });

    const { payload, context } = await seen.promise;
    expect(payload).toEqual({ name: 'shop' });
    expect(context).toBeInstanceOf(JetStreamContext);
    expect(context).toMatchObject({
      subject: subject('created'),
      deliveryCount: 1,
      redelivered: false,
      streamSequence: ack.seq,
      msgId: 'shop:create',
      stream: stream.name,
      consumer: durableName('svc', subject('*')),
    });
    expect(context.headers?.get('Content-Type')).toBe('application/json');
    expect(context.message.data).toBeInstanceOf(Uint8Array);
    await eventually(async () => {
      const info = await consumerInfo(admin, stream.name, durableName('svc', subject('*')));
      expect(info.ack_floor.stream_seq).toBe(ack.seq);
      expect(info.num_ack_pending).toBe(0);
    });
  });

  it('redelivers after a transient error, and the retry succeeds', async () => {
    const { stream, subject } = await fixture();
    const deliveries: { count: number; redelivered: boolean }[] = [];
    await start({ durablePrefix: 'svc', stream: stream.name, backoffMs: [200] }, [
      handlerFor(subject('work'), (_, context) => {
        deliveries.push({ count: context.deliveryCount, redelivered: context.redelivered });
        if (context.deliveryCount === 1) throw new Error('database unavailable');
      }),
    ]);

    await publisher.publishJson(subject('work'), { n: 1 }, { msgId: 'transient-1' });

    await eventually(() =>
      expect(deliveries).toEqual([
        { count: 1, redelivered: false },
        { count: 2, redelivered: true },
      ]),
    );
    await eventually(async () => {
      expect((await consumerInfo(admin, stream.name, durableName('svc', subject('work')))).num_ack_pending).toBe(0);
    });
    expect(await deadLettersOf(admin, subject('work'))).toHaveLength(0);
    expect(logger.matching(/Handler failed; the message will be redelivered/).join()).toContain(subject('work'));
  });

  it('redelivers a message its killed consumer never acked to a fresh instance, which processes it once', async () => {
    const { stream, subject } = await fixture();
    const options = { durablePrefix: 'svc', stream: stream.name, ackWaitMs: 1_000, shutdownTimeoutMs: 100 };
    const processed: number[] = [];
    const firstAttempt = deferred();
    const crashing = await start(options, [
      handlerFor(subject('job'), () => {
        firstAttempt.resolve();
        return new Promise(() => undefined);
      }),
    ]);

    await publisher.publishJson(subject('job'), { n: 1 }, { msgId: 'job-1' });
    await firstAttempt.promise;
    await crashing.server.unwrap<NatsConnection>().close();
    await start(options, [handlerFor(subject('job'), (_, context) => void processed.push(context.deliveryCount))]);

    await eventually(() => expect(processed).toEqual([2]));
    // Acked, with nothing pending: the consumer has nothing left to redeliver, ever.
    await eventually(async () => {
      const info = await consumerInfo(admin, stream.name, durableName('svc', subject('job')));
      expect([info.ack_floor.stream_seq, info.num_ack_pending, info.num_pending]).toEqual([1, 0, 0]);
    });
    expect(processed).toEqual([2]);
  });

  it('dead-letters an undecodable payload at once, with the reason, and never redelivers it', async () => {
    const { stream, subject } = await fixture();
    const handled: unknown[] = [];
    await start({ durablePrefix: 'svc', stream: stream.name, ackWaitMs: 1_000 }, [
      handlerFor(subject('cmd'), (payload) => void handled.push(payload)),
    ]);
    const body = '{"password": "s3cr3t-value", broken';

    const ack = await publisher.publish(subject('cmd'), body, { msgId: 'poison-1', headers: { 'X-Trace': 't-9' } });

    await eventually(async () => expect(await deadLettersOf(admin, subject('cmd'))).toHaveLength(1));
    const [dead] = await deadLettersOf(admin, subject('cmd'));
    expect(dead!.subject).toBe(`deadletter.${subject('cmd')}`);
    expect(dead!.string()).toBe(body);
    expect(dead!.headers!.get(DeadLetterHeader.reason)).toBe('poison message: the payload is not UTF-8 JSON');
    expect(dead!.headers!.get(DeadLetterHeader.stream)).toBe(stream.name);
    expect(dead!.headers!.get(DeadLetterHeader.sequence)).toBe(String(ack.seq));
    expect(dead!.headers!.get(DeadLetterHeader.consumer)).toBe(durableName('svc', subject('cmd')));
    expect(dead!.headers!.get(DeadLetterHeader.deliveries)).toBe('1');
    expect(dead!.headers!.get(DeadLetterHeader.msgId)).toBe('poison-1');
    expect(dead!.headers!.get('X-Trace')).toBe('t-9');

    // Terminated after one delivery: past the ack floor, nothing is left to redeliver.
    await eventually(async () => {
      const info = await consumerInfo(admin, stream.name, durableName('svc', subject('cmd')));
      expect([info.delivered.consumer_seq, info.ack_floor.stream_seq, info.num_ack_pending]).toEqual([1, ack.seq, 0]);
      expect(info.num_redelivered).toBe(0);
    });
    expect(handled).toHaveLength(0);
    expect(await deadLettersOf(admin, subject('cmd'))).toHaveLength(1);
    expect(logger.matching(/Dead-lettered message/).join()).toContain(subject('cmd'));
    expect(logger.lines.join('\n')).not.toContain('s3cr3t-value');
  });

  it('dead-letters a message whose handler throws PoisonMessageError, after one delivery', async () => {
    const { stream, subject } = await fixture();
    let calls = 0;
    await start({ durablePrefix: 'svc', stream: stream.name, ackWaitMs: 1_000 }, [
      handlerFor(subject('cmd'), () => {
        calls++;
        throw new PoisonMessageError('unknown engine "joomla"');
      }),
    ]);

    await publisher.publishJson(subject('cmd'), { engine: 'joomla' }, { msgId: 'poison-2' });

    await eventually(async () => expect(await deadLettersOf(admin, subject('cmd'))).toHaveLength(1));
    const [dead] = await deadLettersOf(admin, subject('cmd'));
    expect(dead!.headers!.get(DeadLetterHeader.reason)).toBe('poison message: unknown engine "joomla"');
    await eventually(async () => {
      const info = await consumerInfo(admin, stream.name, durableName('svc', subject('cmd')));
      expect([info.delivered.consumer_seq, info.num_ack_pending, info.num_pending]).toEqual([1, 0, 0]);
    });
    expect(calls).toBe(1);
  });

  it('dead-letters a message that fails on every one of maxDeliver deliveries, then stops', async () => {
    const { stream, subject } = await fixture();
    const deliveries: number[] = [];
    await start(
      { durablePrefix: 'svc', stream: stream.name, maxDeliver: 3, backoffMs: [100, 200], ackWaitMs: 1_000 },
      [
        handlerFor(subject('cmd'), (_, context) => {
          deliveries.push(context.deliveryCount);
          throw new Error('database unavailable');
        }),
      ],
      true,
    );

    await publisher.publishJson(subject('cmd'), { n: 1 }, { msgId: 'always-fails' });

    await eventually(async () => expect(await deadLettersOf(admin, subject('cmd'))).toHaveLength(1));
    const [dead] = await deadLettersOf(admin, subject('cmd'));
    expect(dead!.headers!.get(DeadLetterHeader.reason)).toBe('failed 3 of 3 deliveries: database unavailable');
    expect(dead!.headers!.get(DeadLetterHeader.deliveries)).toBe('3');
    await eventually(async () => {
      const info = await consumerInfo(admin, stream.name, durableName('svc', subject('cmd')));
      expect([info.delivered.consumer_seq, info.num_ack_pending, info.num_pending]).toEqual([3, 0, 0]);
    });
    expect(deliveries).toEqual([1, 2, 3]);
  });

  it('keeps one durable consumer per pattern however often it starts, and updates a changed setting', async () => {
    const { stream, subject } = await fixture();
    const handled: string[] = [];
    @Controller()
    class TwoPatterns {
      @EventPattern(subject('a'))
      onA(@Payload() payload: { id: string }) {
        handled.push(payload.id);
      }

      @EventPattern(subject('b.>'))
      onB(@Payload() payload: { id: string }, @Ctx() context: JetStreamContext) {
        handled.push(`${payload.id}@${context.subject}`);
      }
    }
    const options = { durablePrefix: 'svc', stream: stream.name, ackWaitMs: 2_000 };

    await start(options, [TwoPatterns]);
    await start(options, [TwoPatterns]);
    const consumers = await (await admin.jetstreamManager()).consumers.list(stream.name).next();
    for (let n = 0; n < 10; n++) {
      await publisher.publishJson(subject(n % 2 ? 'a' : 'b.x'), { id: `m${n}` }, { msgId: `m${n}` });
    }

    expect(consumers.map((c) => c.name).sort()).toEqual(
      [durableName('svc', subject('a')), durableName('svc', subject('b.>'))].sort(),
    );
    const onA = consumers.find((c) => c.name === durableName('svc', subject('a')))!;
    expect(onA.config).toMatchObject({
      durable_name: durableName('svc', subject('a')),
      filter_subject: subject('a'),
      ack_policy: 'explicit',
      max_deliver: 6,
      ack_wait: 2_000_000_000,
    });
    await eventually(() => expect(handled).toHaveLength(10));
    expect(new Set(handled).size).toBe(10);
    expect(handled).toContain(`m0@${subject('b.x')}`);

    await start({ ...options, ackWaitMs: 3_000 }, [TwoPatterns]);
    const updated = await consumerInfo(admin, stream.name, durableName('svc', subject('a')));
    expect(updated.config.ack_wait).toBe(3_000_000_000);
    expect(updated.created).toEqual(onA.created);
    expect(await (await admin.jetstreamManager()).consumers.list(stream.name).next()).toHaveLength(2);
  });

  it('close() stops taking messages and waits for a running handler, which still acks', async () => {
    const { stream, subject } = await fixture();
    const started = deferred();
    let finished = false;
    const { server } = await start({ durablePrefix: 'svc', stream: stream.name }, [
      handlerFor(subject('slow'), async () => {
        started.resolve();
        await sleep(1_500);
        finished = true;
      }),
    ]);
    const ack = await publisher.publishJson(subject('slow'), { n: 1 }, { msgId: 'slow-1' });
    await started.promise;

    const closing = server.close();
    expect(finished).toBe(false);
    await closing;

    expect(finished).toBe(true);
    expect(server.unwrap<NatsConnection>().isClosed()).toBe(true);
    const info = await consumerInfo(admin, stream.name, durableName('svc', subject('slow')));
    expect(info.ack_floor.stream_seq).toBe(ack.seq);
    expect(info.num_ack_pending).toBe(0);
  });

  it("nak's a message whose handler outlives the shutdown timeout: another instance gets it at once, not after ack_wait", async () => {
    const { stream, subject } = await fixture();
    // An ack_wait far beyond the test's wait: a redelivery within it can only come from the nak.
    const options = { durablePrefix: 'svc', stream: stream.name, ackWaitMs: 120_000, shutdownTimeoutMs: 200 };
    const firstAttempt = deferred();
    const stopping = await start(options, [
      handlerFor(subject('stuck'), () => {
        firstAttempt.resolve();
        return new Promise(() => undefined);
      }),
    ]);
    await publisher.publishJson(subject('stuck'), { n: 1 }, { msgId: 'stuck-1' });
    await firstAttempt.promise;
    const processed: number[] = [];
    await start(options, [handlerFor(subject('stuck'), (_, context) => void processed.push(context.deliveryCount))]);

    await stopping.server.close();

    await eventually(() => expect(processed).toEqual([2]), 15_000);
    await eventually(async () => {
      const info = await consumerInfo(admin, stream.name, durableName('svc', subject('stuck')));
      expect([info.ack_floor.stream_seq, info.num_ack_pending]).toEqual([1, 0]);
    });
    expect(logger.matching(/nak'd for another instance/).join()).toContain('"handedBack":1');
  });

  it('stops pulling when stopPullingOn aborts, before close(): a later message waits for another instance', async () => {
    const { stream, subject } = await fixture();
    const shutdown = new AbortController();
    const taken: string[] = [];
    const options = { durablePrefix: 'svc', stream: stream.name, pullExpiresMs: 1_000 };
    await start({ ...options, stopPullingOn: shutdown.signal }, [
      handlerFor(subject('late'), () => void taken.push('stopping')),
    ]);

    shutdown.abort();
    await sleep(200);
    await publisher.publishJson(subject('late'), { n: 1 }, { msgId: 'late-1' });
    await sleep(2_000);
    const info = await consumerInfo(admin, stream.name, durableName('svc', subject('late')));
    expect([taken, info.num_pending, info.num_ack_pending]).toEqual([[], 1, 0]);

    await start(options, [handlerFor(subject('late'), () => void taken.push('other'))]);
    await eventually(() => expect(taken).toEqual(['other']));
  });

  it('keeps a handler that outlives ack_wait from being redelivered while it works', async () => {
    const { stream, subject } = await fixture();
    const deliveries: number[] = [];
    await start({ durablePrefix: 'svc', stream: stream.name, ackWaitMs: 1_000 }, [
      handlerFor(subject('long'), async (_, context) => {
        deliveries.push(context.deliveryCount);
        await sleep(3_500);
      }),
    ]);

    await publisher.publishJson(subject('long'), { n: 1 }, { msgId: 'long-1' });

    await eventually(async () => {
      expect((await consumerInfo(admin, stream.name, durableName('svc', subject('long')))).ack_floor.stream_seq).toBe(
        1,
      );
    });
    expect(deliveries).toEqual([1]);
    expect((await consumerInfo(admin, stream.name, durableName('svc', subject('long')))).num_redelivered).toBe(0);
  });

  it('runs at most `concurrency` handlers of one consumer at a time', async () => {
    const { stream, subject } = await fixture();
    let active = 0;
    let peak = 0;
    let done = 0;
    await start({ durablePrefix: 'svc', stream: stream.name, concurrency: 2 }, [
      handlerFor(subject('batch'), async () => {
        peak = Math.max(peak, ++active);
        await sleep(300);
        active--;
        done++;
      }),
    ]);

    await Promise.all(
      Array.from({ length: 8 }, (_, n) => publisher.publishJson(subject('batch'), { n }, { msgId: `batch-${n}` })),
    );

    await eventually(() => expect(done).toBe(8));
    expect(peak).toBe(2);
  });

  it("reports each message's outcome, redeliveries, its consumer's lag and the dead-letter stream's size", async () => {
    const { stream, subject } = await fixture();
    const metrics = new Registry();
    const consumer = durableName('svc', subject('m'));
    const release = deferred();
    await start({ durablePrefix: 'svc', stream: stream.name, concurrency: 1, backoffMs: [200], metrics }, [
      handlerFor(subject('m'), async (payload, context) => {
        const { n } = payload as { n: number };
        if (n === 1 && context.deliveryCount === 1) throw new Error('database unavailable');
        if (n === 2) throw new PoisonMessageError('unknown engine "joomla"');
        if (n === 3) await release.promise;
      }),
    ]);
    const handled = () => metricValuesBy(metrics, 'urumi_jetstream_messages_handled_total', 'outcome');
    const gauge = async (series: string) => (await metricSamples(metrics, series)).map((s) => s.value);

    await publisher.publishJson(subject('m'), { n: 2 }, { msgId: 'm-2' });
    await publisher.publishJson(subject('m'), { n: 1 }, { msgId: 'm-1' });
    await eventually(async () => expect(await handled()).toEqual({ dead_letter: 1, nak: 1, ack: 1 }));
    for (const n of [3, 4, 5]) await publisher.publishJson(subject('m'), { n }, { msgId: `m-${n}` });

    // The one handler slot holds message 3: two wait on the server.
    await eventually(async () => {
      expect(await gauge('urumi_jetstream_consumer_ack_pending_messages')).toEqual([1]);
      expect(await gauge('urumi_jetstream_consumer_pending_messages')).toEqual([2]);
    });
    const lag = await metricSamples(metrics, 'urumi_jetstream_consumer_pending_messages');
    expect(lag[0]?.labels).toEqual({ stream: stream.name, consumer });
    expect(await metricValuesBy(metrics, 'urumi_jetstream_redeliveries_total', 'consumer')).toEqual({ [consumer]: 1 });
    const [deadLetters] = await gauge('urumi_deadletter_messages');
    expect(deadLetters).toBeGreaterThanOrEqual(1);

    release.resolve();
    await eventually(async () => {
      expect(await handled()).toEqual({ dead_letter: 1, nak: 1, ack: 4 });
      expect(await gauge('urumi_jetstream_consumer_pending_messages')).toEqual([0]);
      expect(await gauge('urumi_jetstream_consumer_ack_pending_messages')).toEqual([0]);
    });
  });
});
