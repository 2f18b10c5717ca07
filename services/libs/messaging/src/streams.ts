import { Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { JetStreamManager, nanos, NatsError, RetentionPolicy, StorageType, StreamConfig, StreamInfo } from 'nats';

export interface StreamDefinition {
  readonly name: string;
  readonly subjects: readonly string[];
  /** A second publish with the same Nats-Msg-Id within this window is dropped. */
  readonly duplicateWindowMs: number;
  /** Messages older than this are removed; unset keeps whatever the stream has (unlimited when created here). */
  readonly maxAgeMs?: number;
}

const DEFAULT_DUPLICATE_WINDOW_MS = 2 * 60_000;
const FOURTEEN_DAYS_MS = 14 * 24 * 60 * 60_000;

/** Declares a file-backed, limits-retention stream for MessagingModule.forRoot({ streams }). */
export function defineStream(definition: {
  name: string;
  subjects: readonly string[];
  duplicateWindowMs?: number;
  maxAgeMs?: number;
}): StreamDefinition {
  const { name, subjects, duplicateWindowMs = DEFAULT_DUPLICATE_WINDOW_MS, maxAgeMs } = definition;
  if (!/^[A-Za-z0-9_-]+$/.test(name)) {
    throw new Error(`stream name "${name}" must be letters, digits, "-" or "_"`);
  }
  if (subjects.length === 0) throw new Error(`stream ${name} needs at least one subject`);
  if (!(duplicateWindowMs > 0)) throw new Error(`stream ${name}: duplicateWindowMs must be positive`);
  if (maxAgeMs !== undefined && duplicateWindowMs > maxAgeMs) {
    throw new Error(`stream ${name}: duplicateWindowMs (${duplicateWindowMs}) cannot exceed maxAgeMs (${maxAgeMs})`);
  }
  return { name, subjects: [...subjects], duplicateWindowMs, maxAgeMs };
}

/** Where consumers put the messages they give up on, kept for two weeks for a person to inspect. */
export const DEAD_LETTER_STREAM = defineStream({
  name: 'DEADLETTER',
  subjects: ['deadletter.>'],
  maxAgeMs: FOURTEEN_DAYS_MS,
});

/** The stream's configuration, kept on `replicas` servers (NatsSettings.replicas). */
export function streamConfigOf(definition: StreamDefinition, replicas = 1): Partial<StreamConfig> {
  return {
    name: definition.name,
    subjects: [...definition.subjects],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    num_replicas: replicas,
    duplicate_window: nanos(definition.duplicateWindowMs),
    ...(definition.maxAgeMs === undefined ? {} : { max_age: nanos(definition.maxAgeMs) }),
  };
}

/** True when the stream differs from its definition in a field the definition declares, or in its replicas. */
export function streamDiffers(existing: StreamConfig, definition: StreamDefinition, replicas = 1): boolean {
  const desired = streamConfigOf(definition, replicas);
  const sameSubjects =
    existing.subjects.length === definition.subjects.length &&
    definition.subjects.every((subject) => existing.subjects.includes(subject));
  return (
    !sameSubjects ||
    existing.num_replicas !== desired.num_replicas ||
    existing.duplicate_window !== desired.duplicate_window ||
    (desired.max_age !== undefined && existing.max_age !== desired.max_age)
  );
}

const STREAM_NOT_FOUND = 10059;
const STREAM_NAME_IN_USE = 10058;

export function jetStreamErrorCode(error: unknown): number | undefined {
  return error instanceof NatsError ? error.api_error?.err_code : undefined;
}

/** NATS refused the request's subject to this user ("Permissions Violation for Publish to …"). */
export function isPermissionViolation(error: unknown): boolean {
  return error instanceof NatsError && error.isPermissionError();
}

const OWNER_WAIT_RETRY_MS = 1_000;

/** The stream's info once it exists: for a stream (or KV bucket) whose owner, another service, creates it. */
export async function streamOnceCreated(
  jsm: JetStreamManager,
  stream: string,
  logger: Logger,
  retryMs = OWNER_WAIT_RETRY_MS,
): Promise<StreamInfo> {
  logger.warn({ msg: "Waiting for the stream's owner to create it (this service may not)", stream });
  for (;;) {
    const info = await jsm.streams.info(stream).catch((error: unknown) => {
      if (jetStreamErrorCode(error) === STREAM_NOT_FOUND) return undefined;
      throw error;
    });
    if (info) return info;
    await sleep(retryMs);
  }
}

/**
 * Creates or updates streams so they match their definitions and the replica count; safe to run from
 * every replica at once. Raising the replicas of an existing stream (1 → 3 when NATS becomes a cluster)
 * is an update JetStream carries out online. One service owns each stream's definition (NATS lets only it
 * create or update the stream); for the others this only binds: it waits for the stream to exist, and leaves
 * a difference from the definition to the owner.
 */
export class StreamProvisioner {
  private readonly logger = new Logger(StreamProvisioner.name);

  constructor(
    private readonly jsm: JetStreamManager,
    private readonly replicas = 1,
  ) {}

  async ensure(definitions: readonly StreamDefinition[]): Promise<void> {
    for (const definition of definitions) await this.ensureOne(definition);
  }

  private async ensureOne(definition: StreamDefinition): Promise<void> {
    const existing = await this.jsm.streams.info(definition.name).catch((error: unknown) => {
      if (jetStreamErrorCode(error) === STREAM_NOT_FOUND) return undefined;
      throw error;
    });
    if (!existing) {
      try {
        await this.jsm.streams.add(streamConfigOf(definition, this.replicas));
        this.logger.log({
          msg: 'Created stream',
          stream: definition.name,
          subjects: definition.subjects.join(','),
          replicas: this.replicas,
        });
        return;
      } catch (error) {
        if (isPermissionViolation(error)) {
          await streamOnceCreated(this.jsm, definition.name, this.logger);
          return;
        }
        // Another replica created it first: fall through to update it to our definition.
        if (jetStreamErrorCode(error) !== STREAM_NAME_IN_USE) throw error;
      }
    } else if (!streamDiffers(existing.config, definition, this.replicas)) {
      return;
    }
    try {
      await this.jsm.streams.update(definition.name, streamConfigOf(definition, this.replicas));
    } catch (error) {
      if (!isPermissionViolation(error)) throw error;
      this.logger.warn({
        msg: 'The stream differs from its definition; its owner updates it',
        stream: definition.name,
      });
      return;
    }
    this.logger.log({
      msg: 'Updated stream',
      stream: definition.name,
      subjects: definition.subjects.join(','),
      replicas: this.replicas,
    });
  }
}
