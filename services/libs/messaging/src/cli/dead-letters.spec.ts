import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { headers } from 'nats';
import { DeadLetterHeader } from '../dead-letter';
import { formatTable, resolveNatsUrl, summarise } from './dead-letters';

describe(resolveNatsUrl.name, () => {
  const dir = mkdtempSync(join(tmpdir(), 'dlq-'));
  const urlFile = join(dir, 'nats-url');
  writeFileSync(urlFile, 'nats://127.0.0.1:4999\n');

  it('prefers --server, then NATS_URL, then the sandbox file', () => {
    expect(resolveNatsUrl('nats://flag:1', { NATS_URL: 'nats://env:2' }, urlFile)).toBe('nats://flag:1');
    expect(resolveNatsUrl(undefined, { NATS_URL: 'nats://env:2' }, urlFile)).toBe('nats://env:2');
    expect(resolveNatsUrl(undefined, {}, urlFile)).toBe('nats://127.0.0.1:4999');
  });

  it('says where a URL could come from when there is none', () => {
    expect(() => resolveNatsUrl(undefined, {}, join(dir, 'missing'))).toThrow(/--server.*NATS_URL/);
  });
});

describe(summarise.name, () => {
  it('reads the dead-letter headers and strips the subject prefix', () => {
    const dlq = headers();
    dlq.set(DeadLetterHeader.reason, 'poison message: bad');
    dlq.set(DeadLetterHeader.deliveries, '1');
    dlq.set(DeadLetterHeader.stream, 'STORES');
    dlq.set(DeadLetterHeader.sequence, '9');

    const sut = summarise(3, new Date(0), 'deadletter.store.cmd.create', dlq);

    expect(sut).toMatchObject({
      seq: 3,
      subject: 'store.cmd.create',
      reason: 'poison message: bad',
      deliveries: '1',
      stream: 'STORES',
      originalSeq: '9',
      consumer: '-',
    });
  });
});

describe(formatTable.name, () => {
  it('prints a header and aligned columns', () => {
    const row = summarise(12, new Date('2026-01-02T03:04:05Z'), 'deadletter.a.b', headers());

    const [head, line] = formatTable([row]);

    expect(head).toMatch(/^SEQ\s+TIME\s+SUBJECT\s+DELIVERIES\s+ORIGINAL\s+REASON$/);
    expect(line).toMatch(/^12\s+2026-01-02T03:04:05.000Z\s+a\.b\s+-\s+-#-\s+-$/);
    expect(line!.indexOf('2026')).toBe(head!.indexOf('TIME'));
  });
});
