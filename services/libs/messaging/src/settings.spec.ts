import { ConfigError } from '@urumi/runtime';
import { natsSettingsFromEnv } from './settings';

describe(natsSettingsFromEnv.name, () => {
  it('defaults to a local server without auth and one copy of everything', () => {
    expect(natsSettingsFromEnv({})).toEqual({ servers: ['nats://127.0.0.1:4222'], replicas: 1 });
  });

  it('reads a list of servers, the credentials and the replica count', () => {
    expect(
      natsSettingsFromEnv({
        NATS_URL: 'nats://nats-0:4222, nats://nats-1:4222',
        NATS_USER: 'gateway',
        NATS_PASSWORD: 's3cret',
        NATS_REPLICAS: '3',
      }),
    ).toEqual({
      servers: ['nats://nats-0:4222', 'nats://nats-1:4222'],
      user: 'gateway',
      password: 's3cret',
      replicas: 3,
    });
  });

  it.each([{ NATS_USER: 'gateway' }, { NATS_PASSWORD: 's3cret' }])('wants both credentials or neither: %j', (env) => {
    expect(() => natsSettingsFromEnv(env)).toThrow(
      new ConfigError('NATS_USER and NATS_PASSWORD go together: set both, or neither for a server without auth'),
    );
  });

  it.each(['0', '6', 'three'])('refuses NATS_REPLICAS=%s', (replicas) => {
    expect(() => natsSettingsFromEnv({ NATS_REPLICAS: replicas })).toThrow(
      /NATS_REPLICAS must be a whole number from 1 to 5/,
    );
  });
});
