import { Logger } from '@nestjs/common';
import { KV, KvOptions, NatsConnection, NatsError, StorageType } from 'nats';
import { isPermissionViolation, streamOnceCreated } from './streams';
import { untilAnswered } from './unanswered';

/**
 * JetStream's "wrong last sequence": the key was written since it was read (or exists, for a create). A clustered
 * stream's leader also refuses a write outright, with the constant form, while another write to the same key is
 * being proposed: the same lost race, told before the proposal rather than after.
 */
const WRONG_LAST_SEQUENCE = new Set([10071, 10164]);

/** True when a KV compare-and-set lost to another writer: re-read and try again. */
export function isRevisionConflict(error: unknown): boolean {
  return error instanceof NatsError && WRONG_LAST_SEQUENCE.has(error.api_error?.err_code ?? 0);
}

export interface BucketOptions {
  /** Values kept per key (default 1). */
  readonly history?: number;
  /** Entries expire this long after their last write; unset: never. */
  readonly ttlMs?: number;
  /** File (default) survives a server restart; memory is for counters that may be lost. */
  readonly storage?: StorageType;
}

/**
 * Opens JetStream KV buckets, creating them with the service's replica count, and raising the replicas
 * of a bucket made before NATS became a cluster (the KV client alone keeps an existing bucket as it is).
 * A service that NATS lets use a bucket but not define it (its owner does) waits for the bucket instead, and every
 * service waits for a JetStream that does not answer.
 */
export class KeyValueBuckets {
  private readonly logger = new Logger(KeyValueBuckets.name);

  constructor(
    private readonly connection: NatsConnection,
    private readonly replicas = 1,
  ) {}

  open(bucket: string, options: BucketOptions = {}): Promise<KV> {
    return untilAnswered(`open KV bucket ${bucket}`, () => this.openOnce(bucket, options), this.logger);
  }

  private async openOnce(bucket: string, options: BucketOptions): Promise<KV> {
    const { history = 1, ttlMs, storage = StorageType.File } = options;
    const kvOptions: Partial<KvOptions> = {
      history,
      storage,
      replicas: this.replicas,
      ...(ttlMs === undefined ? {} : { ttl: ttlMs }),
    };
    const open = () => this.connection.jetstream().views.kv(bucket, kvOptions);
    const jsm = await this.connection.jetstreamManager();
    const kv = await open().catch(async (error: unknown) => {
      if (!isPermissionViolation(error)) throw error;
      await streamOnceCreated(jsm, `KV_${bucket}`, this.logger);
      return open();
    });
    await this.ensureReplicas(`KV_${bucket}`);
    return kv;
  }

  private async ensureReplicas(stream: string): Promise<void> {
    const jsm = await this.connection.jetstreamManager();
    const { config } = await jsm.streams.info(stream);
    if (config.num_replicas === this.replicas) return;
    try {
      await jsm.streams.update(stream, { ...config, num_replicas: this.replicas });
    } catch (error) {
      if (!isPermissionViolation(error)) throw error;
      this.logger.warn({ msg: "A KV bucket's replicas differ; its owner changes them", stream });
      return;
    }
    this.logger.log({
      msg: 'Changed the replicas of a KV bucket',
      stream,
      from: config.num_replicas,
      to: this.replicas,
    });
  }
}
