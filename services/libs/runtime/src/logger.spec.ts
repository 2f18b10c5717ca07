import { Writable } from 'node:stream';
import { createLogger, JsonLogger } from './logger';

describe(createLogger.name, () => {
  it('writes one JSON object per line with the service name and never a secret', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(...chunk.toString().trim().split('\n'));
        done();
      },
    });
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
});
