import { LoggerService } from '@nestjs/common';
import { Consumer, ConsumerMessages, JsMsg } from 'nats';
import { describeError } from '../errors';
import { InFlight, sleep } from './in-flight';
import { MessageProcessor } from './message-processor';

export interface ConsumerWorkerOptions {
  readonly durable: string;
  /** How long one pull request waits on the server for messages. */
  readonly pullExpiresMs: number;
  /** The pause before retrying after a failed pull. */
  readonly retryDelayMs: number;
}

/**
 * Pulls from one durable consumer only as many messages as it has free handler slots, so nothing waits
 * client-side while its ack_wait runs out. A failed pull (server restarting, consumer lost) is retried,
 * and the consumer looked up (or re-created) again.
 */
export class ConsumerWorker {
  readonly inFlight: InFlight;
  private readonly stopping = new AbortController();
  /** The messages whose handler runs now. */
  private readonly handling = new Set<JsMsg>();
  private batch?: ConsumerMessages;
  private running?: Promise<void>;

  constructor(
    private readonly bindConsumer: () => Promise<Consumer>,
    private readonly processor: MessageProcessor,
    private readonly isConnectionClosed: () => boolean,
    private readonly options: ConsumerWorkerOptions,
    concurrency: number,
    private readonly logger: LoggerService,
  ) {
    this.inFlight = new InFlight(concurrency);
  }

  start(): void {
    this.running ??= this.pullUntilStopped();
  }

  /** Stops pulling; messages being handled carry on (see `inFlight`). */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.batch?.close();
    await this.running;
  }

  /** Gives every message still being handled back to the server for another instance; returns how many. */
  handBackRunning(): number {
    for (const message of this.handling) this.processor.handBack(message);
    return this.handling.size;
  }

  private get stopped(): boolean {
    return this.stopping.signal.aborted || this.isConnectionClosed();
  }

  private async pullUntilStopped(): Promise<void> {
    let consumer: Consumer | undefined;
    while (!this.stopped) {
      try {
        consumer ??= await this.bindConsumer();
        await this.inFlight.waitForFreeSlot(this.stopping.signal);
        if (this.stopped) break;
        await this.pullBatch(consumer);
      } catch (error) {
        if (this.stopped) break;
        consumer = undefined;
        this.logger.warn({
          msg: 'Pulling messages failed; retrying',
          consumer: this.options.durable,
          retryInMs: this.options.retryDelayMs,
          error: describeError(error),
        });
        await sleep(this.options.retryDelayMs, this.stopping.signal);
      }
    }
  }

  private async pullBatch(consumer: Consumer): Promise<void> {
    const batch = await consumer.fetch({ max_messages: this.inFlight.free, expires: this.options.pullExpiresMs });
    this.batch = batch;
    try {
      for await (const message of batch) {
        if (this.stopped) this.release(message);
        else this.inFlight.track(this.handle(message));
      }
    } finally {
      this.batch = undefined;
    }
  }

  private async handle(message: JsMsg): Promise<void> {
    this.handling.add(message);
    try {
      await this.processor.process(message);
    } finally {
      this.handling.delete(message);
    }
  }

  /** Hands a message that arrived during shutdown straight back, for another instance to take. */
  private release(message: JsMsg): void {
    try {
      message.nak();
    } catch {
      // The connection is already closed: the server redelivers after ack_wait.
    }
  }
}
