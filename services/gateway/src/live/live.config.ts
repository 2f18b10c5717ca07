import { envInt } from '@urumi/runtime';

export interface LiveConfig {
  /** Open live-status sockets one user may hold; the next upgrade is refused with 429. */
  readonly maxConnectionsPerUser: number;
  /** The largest frame a client may send (it sends only pings and a close); a larger one closes the socket with 1009. */
  readonly maxPayloadBytes: number;
  /** Unsent bytes a client may fall behind by before it is disconnected instead of buffered without bound. */
  readonly maxBufferedBytes: number;
}

export const LIVE_CONFIG = Symbol('LIVE_CONFIG');

type Env = Readonly<Record<string, string | undefined>>;

/** LIVE_MAX_CONNECTIONS_PER_USER (10), LIVE_MAX_PAYLOAD_BYTES (4096), LIVE_MAX_BUFFERED_BYTES (4 MiB). */
export function liveConfigFromEnv(env: Env): LiveConfig {
  return {
    maxConnectionsPerUser: envInt(env, 'LIVE_MAX_CONNECTIONS_PER_USER', 10, { min: 1, max: 1000 }),
    maxPayloadBytes: envInt(env, 'LIVE_MAX_PAYLOAD_BYTES', 4 * 1024, { min: 125, max: 1024 * 1024 }),
    maxBufferedBytes: envInt(env, 'LIVE_MAX_BUFFERED_BYTES', 4 * 1024 * 1024, {
      min: 64 * 1024,
      max: 64 * 1024 * 1024,
    }),
  };
}
