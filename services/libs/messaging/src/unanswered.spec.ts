import { ErrorCode, NatsError } from 'nats';
import { isUnanswered, untilAnswered } from './unanswered';

function jetStreamError(code: number, errCode: number): NatsError {
  const error = new NatsError('api error', ErrorCode.ApiError);
  error.api_error = { code, err_code: errCode, description: 'test' };
  return error;
}

describe(isUnanswered.name, () => {
  it.each([
    ['a request that timed out', new NatsError('timeout', ErrorCode.Timeout)],
    ['a request nobody answered', new NatsError('no responders', ErrorCode.NoResponders)],
    ['JetStream temporarily unavailable', jetStreamError(503, 10008)],
  ])('is true for %s', (_, error) => expect(isUnanswered(error)).toBe(true));

  it.each([
    ['a refused request', jetStreamError(400, 10058)],
    ['a missing stream', jetStreamError(404, 10059)],
    ['a closed connection', new NatsError('closed', ErrorCode.ConnectionClosed)],
    ['a permissions violation', new NatsError('denied', ErrorCode.PermissionsViolation)],
    ['an error that is no NatsError', new Error('TIMEOUT')],
  ])('is false for %s', (_, error) => expect(isUnanswered(error)).toBe(false));
});

describe(untilAnswered.name, () => {
  const logger = { log: jest.fn(), warn: jest.fn(), error: jest.fn() };

  beforeEach(() => jest.clearAllMocks());

  it('asks again while JetStream does not answer, and says when it did', async () => {
    const operation = jest
      .fn<Promise<string>, []>()
      .mockRejectedValueOnce(new NatsError('timeout', ErrorCode.Timeout))
      .mockRejectedValueOnce(jetStreamError(503, 10008))
      .mockResolvedValueOnce('opened');

    await expect(untilAnswered('open a bucket', operation, logger, { retryMs: 1 })).resolves.toBe('opened');

    expect(operation).toHaveBeenCalledTimes(3);
    expect(logger.warn).toHaveBeenCalledTimes(1);
    expect(logger.warn).toHaveBeenCalledWith(
      expect.objectContaining({ msg: 'JetStream did not answer; asking again until it does', what: 'open a bucket' }),
    );
    expect(logger.log).toHaveBeenCalledWith(expect.objectContaining({ msg: 'JetStream answered', attempts: 3 }));
  });

  it('throws any other failure at once', async () => {
    const refused = jetStreamError(400, 10058);
    const operation = jest.fn<Promise<void>, []>().mockRejectedValue(refused);

    await expect(untilAnswered('create a stream', operation, logger, { retryMs: 1 })).rejects.toBe(refused);
    expect(operation).toHaveBeenCalledTimes(1);
  });

  it('gives up once shutting down', async () => {
    const stopping = new AbortController();
    const timeout = new NatsError('timeout', ErrorCode.Timeout);
    const operation = jest.fn<Promise<void>, []>().mockImplementation(async () => {
      stopping.abort();
      throw timeout;
    });

    await expect(untilAnswered('create a consumer', operation, logger, { signal: stopping.signal })).rejects.toBe(
      timeout,
    );
    expect(operation).toHaveBeenCalledTimes(1);
  });
});
