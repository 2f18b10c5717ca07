import { ConfigError } from '@urumi/runtime';
import { quotaConfigFromEnv } from './quota.config';

describe(quotaConfigFromEnv.name, () => {
  it('holds the documented defaults', () => {
    const sut = quotaConfigFromEnv({});

    expect(sut).toMatchObject({
      host: '127.0.0.1',
      port: 8081,
      nats: { servers: ['nats://127.0.0.1:4222'], replicas: 1 },
      bucket: 'quota',
      limits: {
        owner: { maxActiveStores: 3, maxCreatesPerHour: 10, maxCreatesPerSourcePerHour: 30 },
        overrides: {},
        platformMaxActiveStores: 200,
      },
    });
  });

  it('reads limits and per-owner overrides', () => {
    const sut = quotaConfigFromEnv({
      QUOTA_MAX_ACTIVE_STORES_PER_OWNER: '5',
      QUOTA_MAX_CREATES_PER_OWNER_PER_HOUR: '20',
      QUOTA_MAX_CREATES_PER_SOURCE_PER_HOUR: '40',
      QUOTA_MAX_ACTIVE_STORES: '500',
      QUOTA_OWNER_OVERRIDES: '{"bench":{"maxActiveStores":1000,"maxCreatesPerHour":1000}}',
    });

    expect(sut.limits).toEqual({
      owner: { maxActiveStores: 5, maxCreatesPerHour: 20, maxCreatesPerSourcePerHour: 40 },
      overrides: { bench: { maxActiveStores: 1000, maxCreatesPerHour: 1000 } },
      platformMaxActiveStores: 500,
    });
  });

  it.each([
    [{ QUOTA_MAX_ACTIVE_STORES_PER_OWNER: 'three' }, /QUOTA_MAX_ACTIVE_STORES_PER_OWNER must be a whole number/],
    [{ QUOTA_MAX_ACTIVE_STORES: '-1' }, /QUOTA_MAX_ACTIVE_STORES must be a whole number/],
    [{ QUOTA_OWNER_OVERRIDES: '{bench' }, /QUOTA_OWNER_OVERRIDES must be JSON/],
    [{ QUOTA_OWNER_OVERRIDES: '[1]' }, /QUOTA_OWNER_OVERRIDES must be a JSON object/],
    [{ QUOTA_OWNER_OVERRIDES: '{"bench":{"maxStores":5}}' }, /"bench" has an unknown limit "maxStores"/],
    [{ QUOTA_OWNER_OVERRIDES: '{"bench":{"maxActiveStores":"5"}}' }, /bench.maxActiveStores must be a whole number/],
  ])('refuses %j with a message naming the variable', (env, message) => {
    expect(() => quotaConfigFromEnv(env)).toThrow(ConfigError);
    expect(() => quotaConfigFromEnv(env)).toThrow(message);
  });
});
