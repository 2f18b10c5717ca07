import { Writable } from 'node:stream';
import { createLogger, JsonLogger } from './logger';

/** A destination that keeps each written line. */
function capture(): { lines: string[]; sink: Writable } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString().trim().split('\n'));
      done();
    },
  });
  return { lines, sink };
}

describe(createLogger.name, () => {
  it('writes one JSON object per line with the service name and never a secret', () => {
    const { lines, sink } = capture();
    const sut = new JsonLogger(createLogger('quota', { level: 'info', destination: sink }));

    sut.log({ msg: 'Decided', storeId: 's-1', password: 'hunter2', request: { token: 't0k3n' } }, 'QuotaService');

    const entry = JSON.parse(lines[0]!);
    expect(entry).toMatchObject({
      service: 'quota',
      level: 'info',
      context: 'QuotaService',
      msg: 'Decided',
      storeId: 's-1',
    });
    expect(entry.request.token).toBe('[redacted]');
    expect(lines[0]).not.toContain('hunter2');
    expect(lines[0]).not.toContain('t0k3n');
  });

  it('keeps the fields of an error logged as an object, as Nest passes it with its context', () => {
    const { lines, sink } = capture();
    const sut = new JsonLogger(createLogger('gateway', { level: 'info', destination: sink }));

    sut.error({ msg: 'NATS connection error', error: 'Permissions Violation', password: 'hunter2' }, 'MessagingModule');
    sut.error('Request failed', 'Error: boom\n    at handler', 'HttpExceptionFilter');

    expect(JSON.parse(lines[0]!)).toMatchObject({
      level: 'error',
      context: 'MessagingModule',
      msg: 'NATS connection error',
      error: 'Permissions Violation',
      password: '[redacted]',
    });
    expect(JSON.parse(lines[1]!)).toMatchObject({
      context: 'HttpExceptionFilter',
      msg: 'Request failed',
      stack: 'Error: boom\n    at handler',
    });
  });
});
