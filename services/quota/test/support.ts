export { eventually } from '@urumi/sandbox';
import { LoggerService } from '@nestjs/common';
import {
  ActorSchema,
  create,
  CreateStoreCommand,
  CreateStoreCommandSchema,
  decode,
  encode,
  Engine,
  Step,
  StoreStatusChanged,
  StoreStatusChangedSchema,
  timestampNow,
} from '@urumi/contracts';
import { testSandbox } from '@urumi/sandbox';
import { randomBytes, randomUUID } from 'node:crypto';
import { connect, JetStreamManager, NatsConnection, StoredMsg } from 'nats';
import { OwnerLimits, QuotaLimits } from '../src/quota/ledger';
import { quotaSubjects, QuotaSubjects } from '../src/quota/quota.subjects';

/** A stream, subjects and a ledger bucket that no other test (in any project) uses. */
export interface Isolation {
  readonly natsUrl: string;
  readonly id: string;
  readonly stream: string;
  readonly bucket: string;
  readonly subjects: QuotaSubjects;
  readonly connection: NatsConnection;
  readonly jsm: JetStreamManager;
  dispose(): Promise<void>;
}

export async function isolate(): Promise<Isolation> {
  const natsUrl = await testSandbox().natsUrl();
  const id = `qt${randomBytes(5).toString('hex')}`;
  const stream = `QUOTATEST_${id}`;
  const bucket = `quota_${id}`;
  const connection = await connect({ servers: natsUrl, name: `quota-test-${id}` });
  const jsm = await connection.jetstreamManager();
  await jsm.streams.add({ name: stream, subjects: [`${id}.>`] });
  return {
    natsUrl,
    id,
    stream,
    bucket,
    subjects: quotaSubjects(`${id}.`),
    connection,
    jsm,
    async dispose() {
      await jsm.streams.delete(stream).catch(() => false);
      await jsm.streams.delete(`KV_${bucket}`).catch(() => false);
      await connection.close();
    },
  };
}

export function someLimits(owner: Partial<OwnerLimits> = {}, platformMaxActiveStores = 200): QuotaLimits {
  return {
    owner: { maxActiveStores: 3, maxCreatesPerHour: 100, maxCreatesPerSourcePerHour: 100, ...owner },
    overrides: {},
    platformMaxActiveStores,
  };
}

export function aCreateCommand(
  overrides: Partial<Pick<CreateStoreCommand, 'storeId' | 'owner'>> = {},
): CreateStoreCommand {
  const storeId = overrides.storeId ?? randomUUID();
  const owner = overrides.owner ?? 'alice';
  return create(CreateStoreCommandSchema, {
    storeId,
    name: `shop-${storeId.slice(0, 8)}`,
    engine: Engine.WOOCOMMERCE,
    owner,
    requestedBy: create(ActorSchema, { user: owner, role: 'tenant', sourceIp: '192.0.2.10' }),
    requestId: `req-${storeId.slice(0, 8)}`,
    requestedAt: timestampNow(),
  });
}

export function aStatusChange(command: CreateStoreCommand, step: Step): StoreStatusChanged {
  return create(StoreStatusChangedSchema, {
    storeId: command.storeId,
    name: command.name,
    engine: command.engine,
    owner: command.owner,
    step,
    requestId: command.requestId,
    occurredAt: timestampNow(),
  });
}

export async function publishCommand(isolation: Isolation, command: CreateStoreCommand): Promise<void> {
  await isolation.connection
    .jetstream()
    .publish(isolation.subjects.createStore, JSON.stringify(encode(CreateStoreCommandSchema, command)), {
      msgID: `create:${command.storeId}`,
    });
}

/** Every StoreStatusChanged quota published for the given step, oldest first. */
export async function statusEvents(
  isolation: Isolation,
  step: Step.APPROVED | Step.REJECTED,
): Promise<StoreStatusChanged[]> {
  const subject = isolation.subjects.decision(step);
  const messages = await storedMessages(isolation.jsm, isolation.stream, subject);
  return messages.map((message) => decode(StoreStatusChangedSchema, message.json()));
}

/** What the stream holds on one subject, read by sequence (the streams in these tests are small). */
export async function storedMessages(jsm: JetStreamManager, stream: string, subject: string): Promise<StoredMsg[]> {
  const { state } = await jsm.streams.info(stream);
  const result: StoredMsg[] = [];
  for (let seq = state.first_seq; state.messages > 0 && seq <= state.last_seq; seq++) {
    const message = await jsm.streams.getMessage(stream, { seq });
    if (message.subject === subject) result.push(message);
  }
  return result;
}

/** Keeps what the application logged, as the objects it was given, for assertions on log lines. */
export class RecordingLogger implements LoggerService {
  readonly entries: { level: string; message: unknown }[] = [];

  log(message: unknown): void {
    this.entries.push({ level: 'log', message });
  }
  error(message: unknown): void {
    this.entries.push({ level: 'error', message });
  }
  warn(message: unknown): void {
    this.entries.push({ level: 'warn', message });
  }
  debug(message: unknown): void {
    this.entries.push({ level: 'debug', message });
  }
  verbose(message: unknown): void {
    this.entries.push({ level: 'verbose', message });
  }

  messagesLike(fields: Record<string, unknown>): Record<string, unknown>[] {
    return this.entries
      .map((entry) => entry.message)
      .filter((message): message is Record<string, unknown> => typeof message === 'object' && message !== null)
      .filter((message) => Object.entries(fields).every(([key, value]) => message[key] === value));
  }
}
