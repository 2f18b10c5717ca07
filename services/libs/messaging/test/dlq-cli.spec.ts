import { Logger } from '@nestjs/common';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { NatsConnection } from 'nats';
import { DeadLetterHeader, DeadLetterQueue } from '../src/dead-letter';
import { JetStreamPublisher } from '../src';
import { listDeadLetters, purgeDeadLetters, showDeadLetter } from '../src/cli/dead-letters';
import { adminConnection, createStream, deadLettersOf, deleteStream, natsUrl, uniqueStream } from './support';

jest.setTimeout(60_000);

const workspaceRoot = join(__dirname, '../../../..');

describe('dlq CLI', () => {
  const { stream, subject } = uniqueStream();
  let admin: NatsConnection;
  let deadLetterSeq: number;

  beforeAll(async () => {
    Logger.overrideLogger(false);
    admin = await adminConnection();
    await createStream(admin, stream);
    const publisher = new JetStreamPublisher(admin);
    await publisher.publishJson(
      subject('cmd'),
      { name: 'shop', engine: 'joomla' },
      { msgId: 'cli-1', headers: { 'Urumi-Request-Id': 'req-cli-1' } },
    );
    const [original] = await fetchOne(admin, stream.name);
    await new DeadLetterQueue(publisher).send(original!, 'poison message: unknown engine');
    const [dead] = await deadLettersOf(admin, subject('cmd'));
    deadLetterSeq = dead!.seq;
  });

  afterAll(async () => {
    await purgeDeadLetters(admin, () => undefined, subject('>'));
    await deleteStream(admin, stream);
    await admin.close();
  });

  /** A message as a consumer receives it (with delivery info), left unacked. */
  async function fetchOne(nc: NatsConnection, streamName: string) {
    const reader = await nc.jetstream().consumers.get(streamName);
    const messages = [];
    for await (const message of await reader.fetch({ max_messages: 1, expires: 2_000 })) messages.push(message);
    return messages;
  }

  function collect(): { print: (line: string) => void; output: string[] } {
    const output: string[] = [];
    return { print: (line) => output.push(line), output };
  }

  it('lists the dead letters of a subject: subject, reason, deliveries, original sequence and time', async () => {
    const { print, output } = collect();

    const count = await listDeadLetters(admin, print, subject('cmd'));

    expect(count).toBe(1);
    expect(output[0]).toMatch(/^SEQ\s+TIME\s+SUBJECT\s+DELIVERIES\s+ORIGINAL\s+REASON$/);
    expect(output[1]).toMatch(
      new RegExp(
        `^${deadLetterSeq}\\s+\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\s+${subject('cmd').replace(/\./g, '\\.')}\\s+1\\s+${stream.name}#1\\s+poison message: unknown engine$`,
      ),
    );
  });

  it('shows one dead letter with its payload', async () => {
    const { print, output } = collect();

    await showDeadLetter(admin, deadLetterSeq, print);

    const text = output.join('\n');
    expect(text).toContain(`subject     ${subject('cmd')}`);
    expect(text).toContain('reason      poison message: unknown engine');
    expect(text).toContain(`original    ${stream.name}#1`);
    expect(text).toContain('msgId cli-1');
    expect(text).toContain('"engine": "joomla"');
  });

  it('runs as `npm run dlq -- list` with --server', async () => {
    const { stdout } = await promisify(execFile)(
      'npm',
      ['run', '--silent', 'dlq', '--', 'list', '--subject', subject('cmd'), '--server', await natsUrl()],
      { cwd: workspaceRoot },
    );

    expect(stdout).toContain(subject('cmd'));
    expect(stdout).toContain('poison message: unknown engine');
  });

  it('replays a dead letter as `npm run dlq -- replay <seq>`: the original message, to its subject, under a fresh msgId', async () => {
    const server = await natsUrl();
    const replay = () =>
      promisify(execFile)(
        'npm',
        ['run', '--silent', 'dlq', '--', 'replay', String(deadLetterSeq), '--server', server],
        {
          cwd: workspaceRoot,
        },
      );
    const jsm = await admin.jetstreamManager();
    const original = await jsm.streams.getMessage(stream.name, { seq: 1 });

    const first = await replay();
    // A second replay is a message of its own, not a duplicate the stream drops.
    const second = await replay();

    const [two, three] = await Promise.all([2, 3].map((seq) => jsm.streams.getMessage(stream.name, { seq })));
    for (const [output, message] of [
      [first.stdout, two!],
      [second.stdout, three!],
    ] as const) {
      const msgId = message.header.get('Nats-Msg-Id');
      expect(output.trim()).toBe(
        `replayed dead letter ${deadLetterSeq} to ${subject('cmd')}: ${stream.name}#${message.seq} (msgId ${msgId})`,
      );
      expect(msgId).toMatch(new RegExp(`^replay:${deadLetterSeq}:[0-9a-f-]{36}$`));
      expect([message.subject, Buffer.from(message.data).toString()]).toEqual([
        subject('cmd'),
        Buffer.from(original.data).toString(),
      ]);
      expect(message.header.get('Urumi-Request-Id')).toBe('req-cli-1');
      expect(message.header.get(DeadLetterHeader.reason)).toBe('');
    }
    expect(two!.header.get('Nats-Msg-Id')).not.toBe(three!.header.get('Nats-Msg-Id'));
    expect(await deadLettersOf(admin, subject('cmd'))).toHaveLength(1);
  });

  it('purges the dead letters of one subject', async () => {
    const { print, output } = collect();

    const purged = await purgeDeadLetters(admin, print, subject('cmd'));

    expect(purged).toBe(1);
    expect(output).toEqual([`purged 1 message from DEADLETTER for ${subject('cmd')}`]);
    expect(await deadLettersOf(admin, subject('cmd'))).toHaveLength(0);
  });
});
