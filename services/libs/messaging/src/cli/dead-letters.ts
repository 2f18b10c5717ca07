import { existsSync, readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { headers as createHeaders, MsgHdrs, NatsConnection, StoredMsg } from 'nats';
import { DeadLetterHeader, deadLetterSubject } from '../dead-letter';
import { DEAD_LETTER_STREAM, jetStreamErrorCode } from '../streams';

export interface DeadLetterSummary {
  readonly seq: number;
  readonly time: Date;
  /** The subject it was first published to. */
  readonly subject: string;
  readonly reason: string;
  readonly deliveries: string;
  readonly stream: string;
  readonly originalSeq: string;
  readonly consumer: string;
  readonly msgId: string;
}

export type Print = (line: string) => void;

const PREFIX = deadLetterSubject('');

/** --server, else $NATS_URL, else the developer sandbox's `.sandbox/nats-url`. */
export function resolveNatsUrl(flag: string | undefined, env: NodeJS.ProcessEnv, sandboxUrlFile: string): string {
  const url = flag?.trim() || env['NATS_URL']?.trim() || readIfExists(sandboxUrlFile);
  if (!url) {
    throw new Error(
      `no NATS URL: pass --server nats://host:4222, set NATS_URL, or start the sandbox (${sandboxUrlFile})`,
    );
  }
  return url;
}

function readIfExists(file: string): string | undefined {
  return existsSync(file) ? readFileSync(file, 'utf8').trim() || undefined : undefined;
}

export function summarise(seq: number, time: Date, subject: string, headers: MsgHdrs | undefined): DeadLetterSummary {
  const header = (name: string) => headers?.get(name) || '-';
  return {
    seq,
    time,
    subject: subject.startsWith(PREFIX) ? subject.slice(PREFIX.length) : subject,
    reason: header(DeadLetterHeader.reason),
    deliveries: header(DeadLetterHeader.deliveries),
    stream: header(DeadLetterHeader.stream),
    originalSeq: header(DeadLetterHeader.sequence),
    consumer: header(DeadLetterHeader.consumer),
    msgId: header(DeadLetterHeader.msgId),
  };
}

export function formatTable(summaries: readonly DeadLetterSummary[]): string[] {
  const rows = [
    ['SEQ', 'TIME', 'SUBJECT', 'DELIVERIES', 'ORIGINAL', 'REASON'],
    ...summaries.map((s) => [
      String(s.seq),
      s.time.toISOString(),
      s.subject,
      s.deliveries,
      `${s.stream}#${s.originalSeq}`,
      s.reason,
    ]),
  ];
  const width = (column: number) => Math.max(...rows.map((row) => row[column]?.length ?? 0));
  return rows.map((row) =>
    row
      .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(width(column))))
      .join('  ')
      .trimEnd(),
  );
}

/** Dead-lettering subjects for an optional original-subject filter (wildcards allowed). */
function filterOf(subject: string | undefined): string {
  return deadLetterSubject(subject ?? '>');
}

export async function listDeadLetters(nc: NatsConnection, print: Print, subject?: string): Promise<number> {
  const jsm = await nc.jetstreamManager();
  const filter = filterOf(subject);
  const info = await jsm.streams.info(DEAD_LETTER_STREAM.name, { subjects_filter: filter }).catch(explainMissingStream);
  const expected = Object.values(info.state.subjects ?? {}).reduce((sum, count) => sum + count, 0);
  if (expected === 0) {
    print(`${DEAD_LETTER_STREAM.name} holds no messages${subject ? ` for ${subject}` : ''}`);
    return 0;
  }
  const consumer = await nc.jetstream().consumers.get(DEAD_LETTER_STREAM.name, { filterSubjects: filter });
  const messages = await consumer.fetch({ max_messages: expected, expires: 5_000 });
  const summaries: DeadLetterSummary[] = [];
  for await (const message of messages) {
    summaries.push(
      summarise(message.seq, new Date(message.info.timestampNanos / 1e6), message.subject, message.headers),
    );
    if (message.info.pending === 0) break;
  }
  formatTable(summaries).forEach((line) => print(line));
  return summaries.length;
}

async function readDeadLetter(nc: NatsConnection, seq: number): Promise<StoredMsg> {
  const jsm = await nc.jetstreamManager();
  return jsm.streams.getMessage(DEAD_LETTER_STREAM.name, { seq }).catch((error: unknown) => {
    if (jetStreamErrorCode(error) === NO_MESSAGE_FOUND)
      throw new Error(`${DEAD_LETTER_STREAM.name} has no message ${seq}`);
    return explainMissingStream(error);
  });
}

/** The original's own headers: everything but the dead-letter facts. */
function originalHeaders(stored: StoredMsg): [string, string[]][] {
  return [...(stored.header ?? [])].filter(([name]) => !Object.values<string>(DeadLetterHeader).includes(name));
}

export async function showDeadLetter(nc: NatsConnection, seq: number, print: Print): Promise<void> {
  const stored = await readDeadLetter(nc, seq);
  const summary = summarise(stored.seq, stored.time, stored.subject, stored.header);
  const field = (name: string, value: string) => print(`${name.padEnd(12)}${value}`);
  field('sequence', String(summary.seq));
  field('time', summary.time.toISOString());
  field('subject', summary.subject);
  field('reason', summary.reason);
  field('deliveries', summary.deliveries);
  field('original', `${summary.stream}#${summary.originalSeq} (consumer ${summary.consumer}, msgId ${summary.msgId})`);
  const others = originalHeaders(stored);
  if (others.length) print('headers');
  for (const [name, values] of others) for (const value of values) print(`  ${name}: ${value}`);
  print(`payload (${stored.data.length} bytes)`);
  print(prettyPayload(stored.data));
}

const NO_MESSAGE_FOUND = 10037;
const STREAM_NOT_FOUND = 10059;

function explainMissingStream(error: unknown): never {
  if (jetStreamErrorCode(error) === STREAM_NOT_FOUND) {
    throw new Error(
      `${DEAD_LETTER_STREAM.name} does not exist on this server: no service using @urumi/messaging has started here`,
    );
  }
  throw error;
}

function prettyPayload(data: Uint8Array): string {
  const text = Buffer.from(data).toString('utf8');
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

/**
 * Publishes a dead letter's original message again, payload and headers as they were, to its original
 * subject, under a fresh msgId (the original's is inside the stream's duplicate window, or may be). The
 * dead letter stays: purge it once the replay has done its work.
 */
export async function replayDeadLetter(nc: NatsConnection, seq: number, print: Print): Promise<{ seq: number }> {
  const stored = await readDeadLetter(nc, seq);
  const { subject } = summarise(stored.seq, stored.time, stored.subject, stored.header);
  const headers = createHeaders();
  for (const [name, values] of originalHeaders(stored)) for (const value of values) headers.append(name, value);
  const msgID = `replay:${seq}:${randomUUID()}`;
  const ack = await nc.jetstream().publish(subject, stored.data, { msgID, headers });
  print(`replayed dead letter ${seq} to ${subject}: ${ack.stream}#${ack.seq} (msgId ${msgID})`);
  return { seq: ack.seq };
}

export async function purgeDeadLetters(nc: NatsConnection, print: Print, subject?: string): Promise<number> {
  const jsm = await nc.jetstreamManager();
  const { purged } = await jsm.streams
    .purge(DEAD_LETTER_STREAM.name, subject ? { filter: filterOf(subject) } : undefined)
    .catch(explainMissingStream);
  print(
    `purged ${purged} message${purged === 1 ? '' : 's'} from ${DEAD_LETTER_STREAM.name}${subject ? ` for ${subject}` : ''}`,
  );
  return purged;
}
