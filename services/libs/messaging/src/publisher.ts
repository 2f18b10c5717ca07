import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { headers as createHeaders, JetStreamClient, MsgHdrs, NatsConnection } from 'nats';
import { PublishError, publishFailureReason } from './errors';
import { JETSTREAM_REPLICAS, MESSAGING_STREAMS, NATS_CONNECTION } from './tokens';
import { DEAD_LETTER_STREAM, StreamDefinition, StreamProvisioner } from './streams';
import { untilAnswered } from './unanswered';

export interface PublishOptions {
  /** Sent as Nats-Msg-Id: a second publish with the same id within the stream's duplicate window is dropped. */
  readonly msgId: string;
  readonly headers?: Readonly<Record<string, string>> | MsgHdrs;
  /** How long to wait for JetStream's ack, per attempt (default 5 s). */
  readonly timeoutMs?: number;
  /**
   * How many times to send it while the ack times out (default 3). Each attempt carries the same msgId, so
   * a message the stream stored before its ack was lost is acknowledged again as a duplicate, not stored twice.
   */
  readonly attempts?: number;
}

export interface PublishAck {
  readonly stream: string;
  readonly seq: number;
  /** True when the stream already held a message with this msgId, which was kept instead. */
  readonly duplicate: boolean;
}

const DEFAULT_PUBLISH_TIMEOUT_MS = 5_000;
const DEFAULT_PUBLISH_ATTEMPTS = 3;

/** Publishes to JetStream and waits for the stream's ack, so "published" means "stored". */
@Injectable()
export class JetStreamPublisher implements OnModuleInit {
  private readonly logger = new Logger(JetStreamPublisher.name);
  private readonly js: JetStreamClient;

  constructor(
    @Inject(NATS_CONNECTION) private readonly connection: NatsConnection,
    @Inject(MESSAGING_STREAMS) private readonly streams: readonly StreamDefinition[] = [],
    @Inject(JETSTREAM_REPLICAS) private readonly replicas = 1,
  ) {
    this.js = connection.jetstream();
  }

  onModuleInit(): Promise<void> {
    return this.ensureStreams();
  }

  /** Creates or updates the configured streams and the dead-letter stream, once JetStream answers. */
  ensureStreams(): Promise<void> {
    const streams = [...this.streams, DEAD_LETTER_STREAM];
    return untilAnswered(
      `ensure streams ${streams.map(({ name }) => name).join(', ')}`,
      async () => new StreamProvisioner(await this.connection.jetstreamManager(), this.replicas).ensure(streams),
      this.logger,
    );
  }

  /**
   * Resolves once the stream has stored the message. A PublishError with reason `timeout` means the
   * message may be stored all the same (the ack was lost, not necessarily the message).
   */
  async publish(subject: string, data: Uint8Array | string, options: PublishOptions): Promise<PublishAck> {
    const { msgId, timeoutMs = DEFAULT_PUBLISH_TIMEOUT_MS, attempts = DEFAULT_PUBLISH_ATTEMPTS } = options;
    if (!msgId) throw new TypeError(`publish to "${subject}" needs a msgId`);
    const headers = options.headers ? { headers: toMsgHdrs(options.headers) } : {};
    for (let attempt = 1; ; attempt++) {
      try {
        const ack = await this.js.publish(subject, data, { msgID: msgId, timeout: timeoutMs, ...headers });
        return { stream: ack.stream, seq: ack.seq, duplicate: ack.duplicate };
      } catch (error) {
        const reason = publishFailureReason(error);
        if (reason !== 'timeout' || attempt >= attempts) {
          throw new PublishError(subject, msgId, reason, error, timeoutMs);
        }
        this.logger.warn({
          msg: 'Publish not acknowledged in time; sending it again with the same msgId',
          subject,
          msgId,
          attempt,
        });
      }
    }
  }

  publishJson(subject: string, value: unknown, options: PublishOptions): Promise<PublishAck> {
    const headers = toMsgHdrs(options.headers ?? {});
    headers.set('Content-Type', 'application/json');
    const json = JSON.stringify(value);
    if (json === undefined) throw new TypeError(`publish to "${subject}": the value is not JSON`);
    return this.publish(subject, json, { ...options, headers });
  }
}

function toMsgHdrs(source: Readonly<Record<string, string>> | MsgHdrs): MsgHdrs {
  const result = createHeaders();
  if (isMsgHdrs(source)) {
    for (const [key, values] of source) for (const value of values) result.append(key, value);
  } else {
    for (const [key, value] of Object.entries(source)) result.set(key, value);
  }
  return result;
}

function isMsgHdrs(source: Readonly<Record<string, string>> | MsgHdrs): source is MsgHdrs {
  return typeof (source as MsgHdrs).keys === 'function' && Symbol.iterator in source;
}
