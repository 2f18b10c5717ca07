import { LoggerService } from '@nestjs/common';
import { JsMsg } from 'nats';
import { DeadLetterQueue, headerSafe } from '../dead-letter';
import { classifyFailure, describeError } from '../errors';
import {
  decodePayload,
  DeliveryPolicy,
  isBeyondMaxDeliver,
  nakDelayMs,
  outcomeOfFailure,
  workingIntervalMs,
} from './delivery-policy';
import { ConsumerMetrics, MessageOutcome } from './consumer-metrics';
import { JetStreamContext } from './jetstream-context';

export type InvokeHandler = (payload: unknown, context: JetStreamContext) => Promise<void>;

export interface MessageProcessorOptions extends DeliveryPolicy {
  readonly ackWaitMs: number;
}

type HandlerResult = { readonly ok: true } | { readonly ok: false; readonly error: unknown };

/**
 * Runs one message through its handler and settles it: ack on success, nak with backoff on a
 * transient failure, dead-letter and term on a poison message or the last allowed delivery.
 */
export class MessageProcessor {
  /** Messages given back to the server while their handler still ran: their handler's outcome is not sent. */
  private readonly handedBack = new WeakSet<JsMsg>();

  constructor(
    private readonly invoke: InvokeHandler,
    private readonly deadLetters: DeadLetterQueue,
    private readonly options: MessageProcessorOptions,
    private readonly logger: LoggerService,
    private readonly metrics?: ConsumerMetrics,
  ) {}

  /** Never rejects. */
  async process(message: JsMsg): Promise<void> {
    try {
      await this.settle(message);
    } catch (error) {
      this.logger.error({ ...facts(message), msg: 'Processing a message failed', error: describeError(error) });
    }
  }

  /**
   * Gives a message whose handler is still running back to the server (nak without delay), so another consumer gets it
   * at once rather than after ack_wait; what the handler later returns is dropped (every handler is idempotent).
   */
  handBack(message: JsMsg): void {
    if (this.handedBack.has(message)) return;
    this.handedBack.add(message);
    if (this.send(message, 'nak', () => message.nak())) this.count(message, 'nak');
  }

  private async settle(message: JsMsg): Promise<void> {
    const deliveries = message.info.deliveryCount;
    this.metrics?.received(message.info.consumer, deliveries);
    if (isBeyondMaxDeliver(deliveries, this.options)) {
      return this.deadLetter(message, `no outcome after ${this.options.maxDeliver} deliveries`);
    }
    const payload = decodePayload(message.data);
    if (!payload.ok) return this.deadLetter(message, 'poison message: the payload is not UTF-8 JSON');

    const result = await this.run(message, payload.value);
    if (this.handedBack.has(message)) return;
    if (result.ok) return this.ack(message);

    const outcome = outcomeOfFailure(classifyFailure(result.error), deliveries, this.options);
    if (outcome.action === 'dead-letter') return this.deadLetter(message, outcome.reason);
    this.logger.warn({
      ...facts(message),
      msg: 'Handler failed; the message will be redelivered',
      delayMs: outcome.delayMs,
      error: describeError(result.error),
    });
    if (this.send(message, 'nak', () => message.nak(outcome.delayMs))) this.count(message, 'nak');
  }

  private async run(message: JsMsg, payload: unknown): Promise<HandlerResult> {
    const keepAlive = setInterval(() => {
      if (this.handedBack.has(message)) return clearInterval(keepAlive);
      // Fails once the connection is closed (after shutdown gave up waiting): the server redelivers then.
      if (!this.send(message, 'working', () => message.working())) clearInterval(keepAlive);
    }, workingIntervalMs(this.options.ackWaitMs));
    keepAlive.unref();
    try {
      await this.invoke(payload, new JetStreamContext(message));
      return { ok: true };
    } catch (error) {
      return { ok: false, error };
    } finally {
      clearInterval(keepAlive);
    }
  }

  private async ack(message: JsMsg): Promise<void> {
    try {
      await message.ackAck();
      this.count(message, 'ack');
    } catch (error) {
      this.logger.warn({
        ...facts(message),
        msg: 'The server did not confirm the ack; the message may be redelivered',
        error: describeError(error),
      });
    }
  }

  private async deadLetter(message: JsMsg, reason: string): Promise<void> {
    try {
      await this.deadLetters.send(message, reason);
    } catch (error) {
      const delayMs = nakDelayMs(this.options.backoffMs, message.info.deliveryCount);
      this.logger.error({
        ...facts(message),
        msg: 'Dead-lettering failed; the message will be redelivered',
        reason,
        delayMs,
        error: describeError(error),
      });
      if (this.send(message, 'nak', () => message.nak(delayMs))) this.count(message, 'nak');
      return;
    }
    this.logger.warn({ ...facts(message), msg: 'Dead-lettered message', reason });
    this.count(message, 'dead_letter');
    this.send(message, 'term', () => message.term(headerSafe(reason, 256)));
  }

  private count(message: JsMsg, outcome: MessageOutcome): void {
    this.metrics?.settled(message.info.consumer, outcome);
  }

  /** Acks of this kind are fire-and-forget publishes that throw only when the connection is closed. */
  private send(message: JsMsg, what: string, action: () => void): boolean {
    try {
      action();
      return true;
    } catch (error) {
      this.logger.warn({ ...facts(message), msg: `Could not send ${what}`, error: describeError(error) });
      return false;
    }
  }
}

/** Identifies a message in a log line without its payload. */
function facts(message: JsMsg): Record<string, string | number> {
  return {
    stream: message.info.stream,
    consumer: message.info.consumer,
    subject: message.subject,
    seq: message.seq,
    deliveries: message.info.deliveryCount,
  };
}
