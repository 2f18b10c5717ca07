import { Logger } from '@nestjs/common';
import { CustomTransportStrategy, MessageHandler, Server } from '@nestjs/microservices';
import { DebugEvents, Events, JetStreamClient, NatsConnection, Status } from 'nats';
import type { Registry } from 'prom-client';
import { lastValueFrom } from 'rxjs';
import { connectNats } from '../connection';
import { DeadLetterQueue } from '../dead-letter';
import { describeError } from '../errors';
import { JetStreamPublisher } from '../publisher';
import { NatsSettings } from '../settings';
import { DEAD_LETTER_STREAM, StreamProvisioner } from '../streams';
import { untilAnswered } from '../unanswered';
import { ConsumerMetrics } from './consumer-metrics';
import { ConsumerProvisioner, DurableConsumerSpec } from './consumer-provisioner';
import { ConsumerWorker } from './consumer-worker';
import { durableName, serverMaxDeliver } from './delivery-policy';
import { JetStreamContext } from './jetstream-context';
import { MessageProcessor } from './message-processor';

export interface JetStreamServerOptions {
  readonly nats: NatsSettings;
  /** The service name: prefixes every durable consumer's name and names the connection. */
  readonly durablePrefix: string;
  /** The stream every handled pattern reads from (waited for if it does not exist yet). */
  readonly stream: string;
  /** Deliveries a handler gets before the message is dead-lettered (default 5). */
  readonly maxDeliver?: number;
  /** Redelivery after this long without an ack (default 30 s); running handlers keep extending it. */
  readonly ackWaitMs?: number;
  /** Nak delays by delivery count (default 1 s, 5 s, 15 s, 30 s). */
  readonly backoffMs?: readonly number[];
  /** Messages in flight per consumer (default 4). */
  readonly concurrency?: number;
  /**
   * How long close() waits for running handlers (default 10 s); the messages of those still running then are nak'd,
   * so another instance gets them at once rather than after ack_wait.
   */
  readonly shutdownTimeoutMs?: number;
  /** Stops pulling (messages being handled carry on) as soon as this aborts: the application began shutting down. */
  readonly stopPullingOn?: AbortSignal;
  /** How long one pull request waits on the server (default 10 s; at least 1 s). */
  readonly pullExpiresMs?: number;
  /** Where messages' outcomes, redeliveries, the consumers' lag and the dead-letter stream's size are reported. */
  readonly metrics?: Registry;
}

type Settings = Required<Omit<JetStreamServerOptions, 'stopPullingOn' | 'metrics'>>;

const DEFAULTS: Omit<Settings, 'nats' | 'durablePrefix' | 'stream'> = {
  maxDeliver: 5,
  ackWaitMs: 30_000,
  backoffMs: [1_000, 5_000, 15_000, 30_000],
  concurrency: 4,
  shutdownTimeoutMs: 10_000,
  pullExpiresMs: 10_000,
};

const PULL_RETRY_DELAY_MS = 1_000;

export type JetStreamServerStatus = 'connected' | 'disconnected' | 'reconnecting';

type JetStreamServerEvents = {
  [event in 'disconnect' | 'reconnect' | 'error']: (status: Status) => void;
};

/**
 * A Nest transport over JetStream durable pull consumers: each `@EventPattern(subject filter)` gets a
 * durable consumer `<durablePrefix>-<pattern>`, and each message its handler's outcome (ack, nak with
 * backoff, or dead-letter and term).
 */
export class JetStreamServer
  extends Server<JetStreamServerEvents, JetStreamServerStatus>
  implements CustomTransportStrategy
{
  protected override readonly logger = new Logger(JetStreamServer.name);
  private readonly settings: Settings;
  private readonly closing = new AbortController();
  private readonly listeners = new Map<string, ((status: Status) => void)[]>();
  private readonly workers: ConsumerWorker[] = [];
  private readonly metrics?: ConsumerMetrics;
  private connection?: NatsConnection;
  private closed?: Promise<void>;
  private pullingStopped?: Promise<void>;

  constructor(options: JetStreamServerOptions) {
    super();
    this.settings = settingsOf(options);
    this.metrics = options.metrics && new ConsumerMetrics(options.metrics);
    options.stopPullingOn?.addEventListener('abort', () => void this.stopPulling(), { once: true });
  }

  async listen(callback: (error?: unknown) => void): Promise<void> {
    try {
      await this.start();
      callback();
    } catch (error) {
      callback(error);
    }
  }

  close(): Promise<void> {
    this.closed ??= this.shutDown();
    return this.closed;
  }

  on<
    EventKey extends keyof JetStreamServerEvents = keyof JetStreamServerEvents,
    EventCallback extends JetStreamServerEvents[EventKey] = JetStreamServerEvents[EventKey],
  >(event: EventKey, callback: EventCallback): void {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), callback]);
  }

  /** The transport's NatsConnection. */
  unwrap<T = NatsConnection>(): T {
    if (!this.connection) throw new Error('JetStreamServer is not listening');
    return this.connection as T;
  }

  private async start(): Promise<void> {
    const { nats, durablePrefix, stream } = this.settings;
    const connection = await connectNats(nats, `${durablePrefix}-consumer`, this.logger, (status) =>
      this.onStatus(status),
    );
    this.connection = connection;
    this._status$.next('connected');

    const signal = this.closing.signal;
    const jsm = await untilAnswered(
      `ensure stream ${DEAD_LETTER_STREAM.name}`,
      async () => {
        const manager = await connection.jetstreamManager();
        await new StreamProvisioner(manager, nats.replicas).ensure([DEAD_LETTER_STREAM]);
        return manager;
      },
      this.logger,
      { signal },
    );
    const deadLetters = new DeadLetterQueue(new JetStreamPublisher(connection));
    const consumers = new ConsumerProvisioner(jsm, this.logger);
    const js = connection.jetstream();
    const durables: DurableConsumerSpec[] = [];
    this.metrics?.watch(jsm, durables);

    for (const [pattern, handler] of this.handlersByDurable()) {
      const spec: DurableConsumerSpec = {
        stream,
        durable: durableName(durablePrefix, pattern),
        filterSubject: pattern,
        maxDeliver: serverMaxDeliver(this.settings.maxDeliver),
        ackWaitMs: this.settings.ackWaitMs,
      };
      await untilAnswered(
        `create consumer ${spec.durable}`,
        () => consumers.ensureOnceStreamExists(spec, signal),
        this.logger,
        { signal },
      );
      if (this.pullingStopped) return;
      durables.push(spec);
      const worker = this.workerFor(spec, handler, deadLetters, consumers, js);
      this.workers.push(worker);
      worker.start();
      this.logger.log({ msg: 'Consuming', stream, consumer: spec.durable, filterSubject: pattern });
    }
  }

  /** Registered patterns, refusing two that would share a durable consumer name. */
  private handlersByDurable(): [string, MessageHandler][] {
    const seen = new Map<string, string>();
    const result: [string, MessageHandler][] = [];
    for (const [pattern, handler] of this.getHandlers()) {
      const durable = durableName(this.settings.durablePrefix, pattern);
      const other = seen.get(durable);
      if (other !== undefined) {
        throw new Error(`patterns "${other}" and "${pattern}" map to the same durable consumer ${durable}`);
      }
      seen.set(durable, pattern);
      result.push([pattern, handler]);
    }
    return result;
  }

  private workerFor(
    spec: DurableConsumerSpec,
    handler: MessageHandler,
    deadLetters: DeadLetterQueue,
    consumers: ConsumerProvisioner,
    js: JetStreamClient,
  ): ConsumerWorker {
    const { maxDeliver, backoffMs, ackWaitMs, concurrency, pullExpiresMs } = this.settings;
    const processor = new MessageProcessor(
      (payload, context) => this.invoke(handler, payload, context),
      deadLetters,
      { maxDeliver, backoffMs, ackWaitMs },
      this.logger,
      this.metrics,
    );
    let firstBind = true;
    const bindConsumer = async () => {
      // After a failed pull, make sure the consumer still exists (a server may have lost its state).
      if (!firstBind) await consumers.ensure(spec);
      firstBind = false;
      return js.consumers.get(spec.stream, spec.durable);
    };
    return new ConsumerWorker(
      bindConsumer,
      processor,
      () => this.connection?.isClosed() ?? true,
      { durable: spec.durable, pullExpiresMs, retryDelayMs: PULL_RETRY_DELAY_MS },
      concurrency,
      this.logger,
    );
  }

  /** Runs Nest's handler chain to completion; rejects with what the handler (via exception filters) threw. */
  private async invoke(handler: MessageHandler, payload: unknown, context: JetStreamContext): Promise<void> {
    await lastValueFrom(this.transformToObservable(handler(payload, context)), { defaultValue: undefined });
  }

  /** No more pulls; what is being handled carries on. */
  private stopPulling(): Promise<void> {
    this.pullingStopped ??= Promise.all(this.workers.map((worker) => worker.stop())).then(() => undefined);
    return this.pullingStopped;
  }

  private async shutDown(): Promise<void> {
    this.closing.abort();
    await this.stopPulling();
    const { shutdownTimeoutMs } = this.settings;
    const settled = await Promise.all(this.workers.map((worker) => worker.inFlight.settled(shutdownTimeoutMs)));
    if (!settled.every(Boolean)) {
      const handedBack = this.workers.reduce((sum, worker) => sum + worker.handBackRunning(), 0);
      this.logger.warn({
        msg: "Handlers still running at shutdown; their messages are nak'd for another instance",
        handedBack,
        waitedMs: shutdownTimeoutMs,
      });
    }
    const connection = this.connection;
    if (connection && !connection.isClosed()) {
      await connection.drain().catch((error: unknown) => {
        this.logger.warn({ msg: 'Draining the NATS connection failed', error: describeError(error) });
      });
    }
  }

  private onStatus(status: Status): void {
    switch (status.type) {
      case Events.Disconnect:
        this._status$.next('disconnected');
        this.emit('disconnect', status);
        break;
      case Events.Reconnect:
        this._status$.next('connected');
        this.emit('reconnect', status);
        break;
      case Events.Error:
        this.emit('error', status);
        break;
      case DebugEvents.Reconnecting:
        this._status$.next('reconnecting');
        break;
    }
  }

  private emit(event: keyof JetStreamServerEvents, status: Status): void {
    for (const listener of this.listeners.get(event) ?? []) listener(status);
  }
}

function settingsOf(options: JetStreamServerOptions): Settings {
  const settings: Settings = {
    nats: options.nats,
    durablePrefix: options.durablePrefix,
    stream: options.stream,
    maxDeliver: options.maxDeliver ?? DEFAULTS.maxDeliver,
    ackWaitMs: options.ackWaitMs ?? DEFAULTS.ackWaitMs,
    backoffMs: options.backoffMs ?? DEFAULTS.backoffMs,
    concurrency: options.concurrency ?? DEFAULTS.concurrency,
    shutdownTimeoutMs: options.shutdownTimeoutMs ?? DEFAULTS.shutdownTimeoutMs,
    pullExpiresMs: options.pullExpiresMs ?? DEFAULTS.pullExpiresMs,
  };
  const wholeAtLeast = (name: keyof Settings, value: number, min: number) => {
    if (!Number.isInteger(value) || value < min)
      throw new Error(`${name} must be a whole number ≥ ${min}, not ${value}`);
  };
  wholeAtLeast('maxDeliver', settings.maxDeliver, 1);
  wholeAtLeast('ackWaitMs', settings.ackWaitMs, 1_000);
  wholeAtLeast('concurrency', settings.concurrency, 1);
  wholeAtLeast('shutdownTimeoutMs', settings.shutdownTimeoutMs, 0);
  wholeAtLeast('pullExpiresMs', settings.pullExpiresMs, 1_000);
  settings.backoffMs.forEach((delay) => wholeAtLeast('backoffMs', delay, 0));
  if (!settings.durablePrefix) throw new Error('durablePrefix is required');
  return settings;
}
