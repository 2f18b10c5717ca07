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
import { NatsConnection } from 'nats';

export interface AuditRecord {
  readonly actor: Actor;
  readonly action: string;
  readonly storeId: string;
  readonly storeName: string;
  readonly statusCode: number;
  readonly requestId: string;
}

/** The audit trail: an append-only JetStream stream, read newest first by sequence. */
@Injectable()
export class AuditLog {
  private readonly logger = new Logger(AuditLog.name);

  constructor(
    @Inject(JetStreamPublisher) private readonly publisher: JetStreamPublisher,
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
  ) {}

  /** Never fails the request it records: a lost audit line is logged instead. */
  async record(record: AuditRecord): Promise<void> {
    const entry = create(AuditEntrySchema, { ...record, at: timestampNow() });
    try {
      await this.publisher.publishJson(subjects.audit(record.action), encode(AuditEntrySchema, entry), {
        msgId: `audit:${record.requestId}:${record.action}`,
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

  async page(limit: number, before?: number): Promise<AuditPage> {
    const jsm = await this.nc.jetstreamManager();
    const { state } = await jsm.streams.info(streams.audit.name);
    const items: AuditItem[] = [];
    let seq = Math.min(before === undefined ? state.last_seq : before - 1, state.last_seq);
    for (; seq >= state.first_seq && items.length < limit; seq--) {
      const message = await jsm.streams.getMessage(streams.audit.name, { seq }).catch(() => undefined);
      if (message) items.push(toItem(seq, decode(AuditEntrySchema, message.json())));
    }
    const last = items[items.length - 1];
    return seq >= state.first_seq && last ? { items, next: last.sequence } : { items };
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
