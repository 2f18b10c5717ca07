import { LoggerService } from '@nestjs/common';
import { AckPolicy, ConsumerConfig, DeliverPolicy, JetStreamManager, nanos, ReplayPolicy } from 'nats';
import { describeError } from '../errors';
import { jetStreamErrorCode } from '../streams';
import { sleep } from './in-flight';

export interface DurableConsumerSpec {
  readonly stream: string;
  readonly durable: string;
  /** A subject filter; wildcards allowed. */
  readonly filterSubject: string;
  readonly maxDeliver: number;
  readonly ackWaitMs: number;
}

export function consumerConfigOf(spec: DurableConsumerSpec): ConsumerConfig {
  return {
    durable_name: spec.durable,
    filter_subject: spec.filterSubject,
    ack_policy: AckPolicy.Explicit,
    // A consumer deployed after commands were published still gets them.
    deliver_policy: DeliverPolicy.All,
    replay_policy: ReplayPolicy.Instant,
    max_deliver: spec.maxDeliver,
    ack_wait: nanos(spec.ackWaitMs),
  };
}

const STREAM_NOT_FOUND = 10059;
const CONSUMER_ALREADY_EXISTS = 10148;
const STREAM_WAIT_RETRY_MS = 1_000;

/** Creates a durable pull consumer, or updates it to the spec if it exists with another configuration. */
export class ConsumerProvisioner {
  constructor(
    private readonly jsm: JetStreamManager,
    private readonly logger: LoggerService,
  ) {}

  async ensure(spec: DurableConsumerSpec): Promise<void> {
    const config = consumerConfigOf(spec);
    try {
      await this.jsm.consumers.add(spec.stream, config);
    } catch (error) {
      if (jetStreamErrorCode(error) !== CONSUMER_ALREADY_EXISTS) throw error;
      const { filter_subject, max_deliver, ack_wait } = config;
      await this.jsm.consumers.update(spec.stream, spec.durable, { filter_subject, max_deliver, ack_wait });
      this.logger.log({ msg: 'Updated consumer', stream: spec.stream, consumer: spec.durable });
    }
  }

  /** Like `ensure`, but waits (until `signal` aborts) for a stream that another service creates. */
  async ensureOnceStreamExists(spec: DurableConsumerSpec, signal: AbortSignal): Promise<void> {
    let warned = false;
    for (;;) {
      try {
        return await this.ensure(spec);
      } catch (error) {
        if (jetStreamErrorCode(error) !== STREAM_NOT_FOUND || signal.aborted) throw error;
        if (!warned) {
          this.logger.warn({
            msg: 'Waiting for the stream to be created',
            stream: spec.stream,
            error: describeError(error),
          });
          warned = true;
        }
        await sleep(STREAM_WAIT_RETRY_MS, signal);
      }
    }
  }
}
