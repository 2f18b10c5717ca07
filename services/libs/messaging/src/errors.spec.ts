import { BaseRpcExceptionFilter } from '@nestjs/microservices';
import { NatsError } from 'nats';
import { firstValueFrom } from 'rxjs';
import { classifyFailure, describeError, PoisonMessageError, publishFailureReason } from './errors';

describe(classifyFailure.name, () => {
  /** What a handler's throw becomes after Nest's default exception filter. */
  async function throughNestDefaultFilter(error: unknown): Promise<unknown> {
    const filter = new BaseRpcExceptionFilter();
    jest.spyOn(BaseRpcExceptionFilter['logger'], 'error').mockImplementation(() => undefined);
    return firstValueFrom(filter.catch(error, {} as never)).catch((reshaped: unknown) => reshaped);
  }

  it('recognises a PoisonMessageError', () => {
    expect(classifyFailure(new PoisonMessageError('unknown engine'))).toEqual({
      poison: true,
      reason: 'unknown engine',
    });
  });

  it("recognises a PoisonMessageError after Nest's default exception filter", async () => {
    const reshaped = await throughNestDefaultFilter(new PoisonMessageError('unknown engine'));

    expect(reshaped).not.toBeInstanceOf(PoisonMessageError);
    expect(classifyFailure(reshaped)).toEqual({ poison: true, reason: 'unknown engine' });
  });

  it('treats any other error as transient', async () => {
    expect(classifyFailure(new Error('db down'))).toEqual({ poison: false, reason: 'db down' });
    expect(classifyFailure(await throughNestDefaultFilter(new Error('db down')))).toEqual({
      poison: false,
      reason: 'Internal server error',
    });
  });
});

describe(describeError.name, () => {
  it.each([
    [new Error('boom'), 'boom'],
    [{ message: 'shaped' }, 'shaped'],
    ['text', 'text'],
    [undefined, 'undefined'],
  ])('describes %p as %p', (error, expected) => {
    expect(describeError(error)).toBe(expected);
  });
});

describe(publishFailureReason.name, () => {
  it.each([
    [new NatsError('503', '503'), 'no-stream'],
    [new NatsError('TIMEOUT', 'TIMEOUT'), 'timeout'],
    [new NatsError('closed', 'CONNECTION_CLOSED'), 'connection-closed'],
    [
      Object.assign(new NatsError('bad', '400'), { api_error: { code: 400, err_code: 10060, description: 'x' } }),
      'rejected',
    ],
    [new Error('other'), 'unknown'],
  ])('maps %p to %s', (error, expected) => {
    expect(publishFailureReason(error)).toBe(expected);
  });
});
