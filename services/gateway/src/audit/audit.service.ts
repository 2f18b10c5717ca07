import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  Actor,
  AuditEntry,
  AuditEntrySchema,
  create,
  decode,
  encode,
  streams,
  subjects,
  timestampDate,
  timestampNow,
} from '@urumi/contracts';
import type { AuditItem, AuditPage } from '@urumi/contracts';
import { JetStreamPublisher, NATS_CONNECTION } from '@urumi/messaging';
import { JetStreamManager, NatsConnection } from 'nats';
import { randomUUID } from 'node:crypto';

export interface AuditRecord {
  readonly actor: Actor;
  readonly action: string;
  readonly storeId: string;
  readonly storeName: string;
  readonly statusCode: number;
  readonly requestId: string;
}

/** How long reading one page may take. */
const PAGE_READ_TIMEOUT_MS = 5_000;

/** The audit trail: an append-only JetStream stream, read newest first by sequence. */
@Injectable()
export class AuditLog {
  private readonly logger = new Logger(AuditLog.name);
  private jsm?: Promise<JetStreamManager>;

  constructor(
    @Inject(JetStreamPublisher) private readonly publisher: JetStreamPublisher,
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
  ) {}

  /** Never fails the request it records: a lost audit line is logged instead. */
  async record(record: AuditRecord): Promise<void> {
    const entry = create(AuditEntrySchema, { ...record, at: timestampNow() });
    try {
      // A server-made id per entry: one built from the client's X-Request-Id would let a client dedupe its own actions away.
      await this.publisher.publishJson(subjects.audit(record.action), encode(AuditEntrySchema, entry), {
        msgId: `audit:${randomUUID()}`,
      });
    } catch (error) {
      this.logger.error({
        msg: 'Could not record an audit entry',
        action: record.action,
        requestId: record.requestId,
        error: String(error),
      });
    }
  }

  /**
   * Up to `limit` entries before sequence `before` (default: the newest), newest first. One ordered consumer
   * reads the page from its first sequence: a page costs the same few NATS requests however long the trail is.
   */
  async page(limit: number, before?: number): Promise<AuditPage> {
    // Without checking the API first: a check that timed out would be kept, and fail every page after it.
    this.jsm ??= this.nc.jetstreamManager({ checkAPI: false });
    const { state } = await (await this.jsm).streams.info(streams.audit.name);
    const end = Math.min(before === undefined ? state.last_seq : before - 1, state.last_seq);
    if (limit < 1 || end < state.first_seq) return { items: [] };
    const start = Math.max(state.first_seq, end - limit + 1);
    const consumer = await this.nc.jetstream().consumers.get(streams.audit.name, { opt_start_seq: start });
    const items: AuditItem[] = [];
    try {
      const messages = await consumer.fetch({ max_messages: end - start + 1, expires: PAGE_READ_TIMEOUT_MS });
      for await (const message of messages) {
        if (message.seq > end) break;
        items.push(toItem(message.seq, decode(AuditEntrySchema, message.json())));
        // The page's last entry, or the stream's (entries removed by hand leave gaps).
        if (message.seq === end || message.info.pending === 0) break;
      }
    } finally {
      await consumer.delete().catch((error: unknown) => {
        // It would go by itself once idle; nothing the caller should wait for.
        this.logger.warn({ msg: 'Could not delete an audit page consumer', error: String(error) });
      });
    }
    items.reverse();
    const last = items[items.length - 1];
    return start > state.first_seq && last ? { items, next: last.sequence } : { items };
  }
}

function toItem(sequence: number, entry: AuditEntry): AuditItem {
  return {
    sequence,
    at: entry.at ? timestampDate(entry.at).toISOString() : '',
    user: entry.actor?.user ?? '',
    role: entry.actor?.role ?? '',
    sourceIp: entry.actor?.sourceIp ?? '',
    action: entry.action,
    storeId: entry.storeId,
    storeName: entry.storeName,
    statusCode: entry.statusCode,
    requestId: entry.requestId,
  };
}
