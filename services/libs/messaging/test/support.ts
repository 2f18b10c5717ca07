export { eventually } from '@urumi/sandbox';
import { Controller, INestMicroservice, LoggerService, Module, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, EventPattern, MicroserviceOptions, Payload } from '@nestjs/microservices';
import { randomBytes } from 'node:crypto';
import { connect, ConsumerInfo, JsMsg, NatsConnection } from 'nats';
import { testSandbox } from '@urumi/sandbox';
import {
  DEAD_LETTER_STREAM,
  deadLetterSubject,
  defineStream,
  JetStreamContext,
  JetStreamErrorFilter,
  JetStreamServer,
  JetStreamServerOptions,
  StreamDefinition,
} from '../src';
import { StreamProvisioner } from '../src/streams';

export const natsUrl = () => testSandbox().natsUrl();

/** A stream and subjects no other test (in any project) uses. */
export function uniqueStream(): { stream: StreamDefinition; subject: (name: string) => string } {
  const id = randomBytes(4).toString('hex');
  return {
    stream: defineStream({ name: `MSGTEST_${id}`, subjects: [`msgtest.${id}.>`] }),
    subject: (name) => `msgtest.${id}.${name}`,
  };
}

export async function adminConnection(): Promise<NatsConnection> {
  return connect({ servers: await natsUrl(), name: 'messaging-test-admin' });
}

export async function createStream(nc: NatsConnection, stream: StreamDefinition): Promise<void> {
  await new StreamProvisioner(await nc.jetstreamManager()).ensure([stream, DEAD_LETTER_STREAM]);
}

export async function deleteStream(nc: NatsConnection, stream: StreamDefinition): Promise<void> {
  await (await nc.jetstreamManager()).streams.delete(stream.name).catch(() => false);
}

/** Log lines of every Nest application in this test file, as JSON. */
export class CapturingLogger implements LoggerService {
  readonly lines: string[] = [];

  log = (message: unknown, ...rest: unknown[]) => this.capture('log', message, rest);
  error = (message: unknown, ...rest: unknown[]) => this.capture('error', message, rest);
  warn = (message: unknown, ...rest: unknown[]) => this.capture('warn', message, rest);
  debug = (message: unknown, ...rest: unknown[]) => this.capture('debug', message, rest);
  verbose = (message: unknown, ...rest: unknown[]) => this.capture('verbose', message, rest);

  private capture(level: string, message: unknown, rest: unknown[]): void {
    const describe = (value: unknown) =>
      value instanceof Error ? `${value.name}: ${value.message}\n${value.stack ?? ''}` : value;
    this.lines.push(JSON.stringify({ level, message: describe(message), rest: rest.map(describe) }));
  }

  matching(pattern: RegExp): string[] {
    return this.lines.filter((line) => pattern.test(line));
  }
}

export type Handle = (payload: unknown, context: JetStreamContext) => unknown;

/** An ordinary Nest controller with one `@EventPattern(pattern)` handler. */
export function handlerFor(pattern: string, handle: Handle): Type {
  @Controller()
  class EventHandler {
    @EventPattern(pattern)
    on(@Payload() payload: unknown, @Ctx() context: JetStreamContext): unknown {
      return handle(payload, context);
    }
  }
  return EventHandler;
}

export interface RunningConsumer {
  readonly app: INestMicroservice;
  readonly server: JetStreamServer;
}

export async function startConsumer(
  options: Omit<JetStreamServerOptions, 'nats'>,
  controllers: Type[],
  settings: { logger: LoggerService; rethrowHandlerErrors?: boolean },
): Promise<RunningConsumer> {
  const server = new JetStreamServer({ nats: { servers: await natsUrl() }, ...options });
  @Module({ controllers })
  class ConsumerModule {}
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(ConsumerModule, {
    strategy: server,
    logger: settings.logger,
  });
  if (settings.rethrowHandlerErrors) app.useGlobalFilters(new JetStreamErrorFilter());
  await app.listen();
  return { app, server };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve: (value: T) => void = () => undefined;
  const promise = new Promise<T>((done) => (resolve = done));
  return { promise, resolve };
}

export async function consumerInfo(nc: NatsConnection, stream: string, durable: string): Promise<ConsumerInfo> {
  return (await nc.jetstreamManager()).consumers.info(stream, durable);
}

/** The dead-lettered copies of messages first published to `subject`, oldest first. */
export async function deadLettersOf(nc: NatsConnection, subject: string): Promise<JsMsg[]> {
  const filter = deadLetterSubject(subject);
  const info = await (await nc.jetstreamManager()).streams.info(DEAD_LETTER_STREAM.name, { subjects_filter: filter });
  const count = info.state.subjects?.[filter] ?? 0;
  if (count === 0) return [];
  const reader = await nc.jetstream().consumers.get(DEAD_LETTER_STREAM.name, { filterSubjects: filter });
  const result: JsMsg[] = [];
  for await (const message of await reader.fetch({ max_messages: count, expires: 2_000 })) result.push(message);
  return result;
}
