import { ConfigError, envInt } from '@urumi/runtime';

/** How a service reaches NATS, and how many copies JetStream keeps of what the service creates there. */
export interface NatsSettings {
  readonly servers: string | readonly string[];
  /** The service's NATS user; the server's `authorization` block decides whether it may connect. */
  readonly user?: string;
  readonly password?: string;
  /**
   * Copies of every stream and KV bucket the service creates or updates: 1 on a single server, 3 on a
   * three-server cluster, so losing one server loses no message and stops no writer. Default 1.
   */
  readonly replicas?: number;
}

type Env = Readonly<Record<string, string | undefined>>;

/** NATS_URL (comma-separated), NATS_USER and NATS_PASSWORD (together or neither), NATS_REPLICAS (1–5). */
export function natsSettingsFromEnv(env: Env): NatsSettings {
  const servers = (env['NATS_URL'] ?? '')
    .split(',')
    .map((url) => url.trim())
    .filter(Boolean);
  const user = env['NATS_USER']?.trim() || undefined;
  const password = env['NATS_PASSWORD'] || undefined;
  if (Boolean(user) !== Boolean(password)) {
    throw new ConfigError('NATS_USER and NATS_PASSWORD go together: set both, or neither for a server without auth');
  }
  return {
    servers: servers.length > 0 ? servers : ['nats://127.0.0.1:4222'],
    ...(user && password ? { user, password } : {}),
    replicas: envInt(env, 'NATS_REPLICAS', 1, { min: 1, max: 5 }),
  };
}
