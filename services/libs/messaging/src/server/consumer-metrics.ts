import { JetStreamManager } from 'nats';
import { Counter, Gauge, Registry } from 'prom-client';
import { DEAD_LETTER_STREAM } from '../streams';

/** How a handled message was settled. */
export type MessageOutcome = 'ack' | 'nak' | 'dead_letter';

/** How long a read of the server's figures waits before giving up (a scrape leaves them out). */
const READ_TIMEOUT_MS = 2_000;

/** A durable consumer's lag as the server counts it. */
export interface ConsumerLag {
  readonly stream: string;
  readonly consumer: string;
  /** Not delivered yet. */
  readonly pending: number;
  /** Delivered, not acknowledged yet. */
  readonly ackPending: number;
  readonly redelivered: number;
}

/** The durable consumers' lag and the dead-letter stream's size, as the server reported them in one read. */
export interface JetStreamLag {
  readonly consumers: readonly ConsumerLag[];
  readonly deadLetters: number;
}

/**
 * Reads the consumers' lag and the dead-letter stream's size from the server; undefined when it does not answer
 * within `timeoutMs` (or refuses): a figure is left out rather than shown stale.
 */
export async function readJetStreamLag(
  jsm: JetStreamManager,
  consumers: readonly { stream: string; durable: string }[],
  timeoutMs = READ_TIMEOUT_MS,
): Promise<JetStreamLag | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), timeoutMs)));
  const read = async (): Promise<JetStreamLag> => {
    const [lags, deadLetters] = await Promise.all([
      Promise.all(
        consumers.map(async ({ stream, durable }) => {
          const info = await jsm.consumers.info(stream, durable);
          return {
            stream,
            consumer: durable,
            pending: info.num_pending,
            ackPending: info.num_ack_pending,
            redelivered: info.num_redelivered,
          };
        }),
      ),
      jsm.streams.info(DEAD_LETTER_STREAM.name).then((info) => info.state.messages),
    ]);
    return { consumers: lags, deadLetters };
  };
  try {
    return await Promise.race([read(), timeout]);
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A consuming service's JetStream metrics: what its handlers did with each message (counted here), and its durable
 * consumers' lag and the dead-letter stream's size (the server's figures, read once per scrape). A figure the server
 * does not give in time is left out of that scrape rather than shown stale; every replica of a service reports the
 * same server-side figures, so dashboards take their max.
 */
export class ConsumerMetrics {
  private readonly handled: Counter;
  private readonly redeliveries: Counter;
  private source?: { jsm: JetStreamManager; consumers: readonly { stream: string; durable: string }[] };
  private reading?: Promise<JetStreamLag | undefined>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.handled = new Counter({
      name: 'urumi_jetstream_messages_handled_total',
      help: 'Messages a handler settled, by durable consumer and outcome (ack, nak for a retry, dead_letter)',
      labelNames: ['consumer', 'outcome'],
      registers,
    });
    this.redeliveries = new Counter({
      name: 'urumi_jetstream_redeliveries_total',
      help: 'Messages received again after an earlier delivery was not acked (nak, ack wait expired, or a crash)',
      labelNames: ['consumer'],
      registers,
    });
    const snapshot = () => this.snapshot();
    new Gauge({
      name: 'urumi_jetstream_consumer_pending_messages',
      help: 'Messages in the stream that the durable consumer has not delivered yet',
      labelNames: ['stream', 'consumer'],
      registers,
      async collect() {
        this.reset();
        for (const c of (await snapshot())?.consumers ?? [])
          this.set({ stream: c.stream, consumer: c.consumer }, c.pending);
      },
    });
    new Gauge({
      name: 'urumi_jetstream_consumer_ack_pending_messages',
      help: 'Messages delivered to the durable consumer and not acked yet',
      labelNames: ['stream', 'consumer'],
      registers,
      async collect() {
        this.reset();
        for (const c of (await snapshot())?.consumers ?? []) {
          this.set({ stream: c.stream, consumer: c.consumer }, c.ackPending);
        }
      },
    });
    new Gauge({
      name: 'urumi_deadletter_messages',
      help: `Messages in the ${DEAD_LETTER_STREAM.name} stream (see \`npm run dlq\`)`,
      registers,
      async collect() {
        this.reset();
        const read = await snapshot();
        if (read) this.set(read.deadLetters);
      },
    });
  }

  /** From now on, scrapes read these consumers' lag (and the dead-letter stream's size) from the server. */
  watch(jsm: JetStreamManager, consumers: readonly { stream: string; durable: string }[]): void {
    this.source = { jsm, consumers };
  }

  settled(consumer: string, outcome: MessageOutcome): void {
    this.handled.inc({ consumer, outcome });
  }

  received(consumer: string, deliveryCount: number): void {
    if (deliveryCount > 1) this.redeliveries.inc({ consumer });
  }

  /** One read of the server's figures per scrape, shared by the gauges (a scrape collects them all at once). */
  private snapshot(): Promise<JetStreamLag | undefined> {
    this.reading ??= this.read().finally(() => setImmediate(() => (this.reading = undefined)));
    return this.reading;
  }

  private async read(): Promise<JetStreamLag | undefined> {
    return this.source && readJetStreamLag(this.source.jsm, this.source.consumers);
  }
}
