import { ConfigError } from '@urumi/runtime';
import { throttlingConfigFromEnv } from './throttling.config';

describe(throttlingConfigFromEnv.name, () => {
  it('defaults to 120 per user, 300 per IP and 10 creations per user, each per minute', () => {
    expect(throttlingConfigFromEnv({})).toEqual({ userPerMinute: 120, ipPerMinute: 300, createsPerMinute: 10 });
  });

  it('reads the limits from the environment', () => {
    expect(
      throttlingConfigFromEnv({
        RATE_LIMIT_USER_PER_MINUTE: '60',
        RATE_LIMIT_IP_PER_MINUTE: '600',
        RATE_LIMIT_CREATES_PER_MINUTE: '3',
      }),
    ).toEqual({ userPerMinute: 60, ipPerMinute: 600, createsPerMinute: 3 });
  });

  it.each(['0', '-1', '1.5', 'lots'])('refuses %s as a limit, naming the variable', (value) => {
    expect(() => throttlingConfigFromEnv({ RATE_LIMIT_CREATES_PER_MINUTE: value })).toThrow(ConfigError);
    expect(() => throttlingConfigFromEnv({ RATE_LIMIT_CREATES_PER_MINUTE: value })).toThrow(
      /^RATE_LIMIT_CREATES_PER_MINUTE must be a whole number/,
    );
  });
});
