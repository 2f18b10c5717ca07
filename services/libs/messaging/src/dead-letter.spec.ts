import { headers } from 'nats';
import { DeadLetterHeader, deadLetterHeaders, deadLetterMsgId, deadLetterSubject, headerSafe } from './dead-letter';

describe(deadLetterHeaders.name, () => {
  const facts = {
    reason: 'poison message: bad engine',
    stream: 'STORES',
    sequence: 42,
    consumer: 'quota-x',
    deliveries: 3,
  };

  function original() {
    const result = headers();
    result.set('Nats-Msg-Id', 'store-1:create');
    result.set('Nats-Expected-Stream', 'STORES');
    result.set('Traceparent', '00-abc-def-01');
    result.append('X-Tag', 'a');
    result.append('X-Tag', 'b');
    return result;
  }

  it('adds the dead-letter facts', () => {
    const sut = deadLetterHeaders(original(), facts);

    expect(sut.get(DeadLetterHeader.reason)).toBe('poison message: bad engine');
    expect(sut.get(DeadLetterHeader.stream)).toBe('STORES');
    expect(sut.get(DeadLetterHeader.sequence)).toBe('42');
    expect(sut.get(DeadLetterHeader.consumer)).toBe('quota-x');
    expect(sut.get(DeadLetterHeader.deliveries)).toBe('3');
  });

  it('keeps the original headers, every value of each', () => {
    const sut = deadLetterHeaders(original(), facts);

    expect(sut.get('Traceparent')).toBe('00-abc-def-01');
    expect(sut.values('X-Tag')).toEqual(['a', 'b']);
  });

  it('drops the headers the server would act on, keeping the original msgId under its own name', () => {
    const sut = deadLetterHeaders(original(), facts);

    expect(sut.has('Nats-Expected-Stream')).toBe(false);
    expect(sut.has('Nats-Msg-Id')).toBe(false);
    expect(sut.get(DeadLetterHeader.msgId)).toBe('store-1:create');
  });

  it('works for a message without headers', () => {
    const sut = deadLetterHeaders(undefined, facts);

    expect(sut.keys().sort()).toEqual(
      [
        DeadLetterHeader.reason,
        DeadLetterHeader.stream,
        DeadLetterHeader.sequence,
        DeadLetterHeader.consumer,
        DeadLetterHeader.deliveries,
      ].sort(),
    );
  });

  it('keeps a multi-line reason on one line', () => {
    const sut = deadLetterHeaders(undefined, { ...facts, reason: 'first line\r\nsecond line' });

    expect(sut.get(DeadLetterHeader.reason)).toBe('first line second line');
  });
});

describe(headerSafe.name, () => {
  it('cuts a long text to the limit', () => {
    const sut = headerSafe('x'.repeat(1_000), 10);

    expect(sut).toHaveLength(10);
    expect(sut.endsWith('…')).toBe(true);
  });
});

describe(deadLetterSubject.name, () => {
  it('prefixes the original subject', () => {
    expect(deadLetterSubject('store.cmd.create')).toBe('deadletter.store.cmd.create');
  });
});

describe(deadLetterMsgId.name, () => {
  it('is the same for the same stream message, so a repeat is dropped', () => {
    expect(deadLetterMsgId('STORES', 7)).toBe('dlq:STORES:7');
    expect(deadLetterMsgId('STORES', 7)).toBe(deadLetterMsgId('STORES', 7));
    expect(deadLetterMsgId('STORES', 8)).not.toBe(deadLetterMsgId('STORES', 7));
  });
});
