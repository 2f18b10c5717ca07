import { envInt } from '@urumi/runtime';

export interface ThrottlingConfig {
  /** Requests per minute per user (per IP address for requests without a principal). */
  readonly userPerMinute: number;
  /** Requests per minute per client IP address, whoever sends them. */
  readonly ipPerMinute: number;
  /** Calls per minute per user of handlers marked @CreateRateLimit(). */
  readonly createsPerMinute: number;
  /** The KV bucket of the counters (default `buckets.rateLimits`); tests pass their own. */
  readonly bucket?: string;
  /** Exact request paths that are never limited (default: /healthz, /readyz). */
  readonly exemptPaths?: readonly string[];
}

export const THROTTLING_CONFIG = Symbol('THROTTLING_CONFIG');

export const DEFAULT_EXEMPT_PATHS: readonly string[] = ['/healthz', '/readyz'];

type Env = Readonly<Record<string, string | undefined>>;

/** RATE_LIMIT_USER_PER_MINUTE (120), RATE_LIMIT_IP_PER_MINUTE (300), RATE_LIMIT_CREATES_PER_MINUTE (10). */
export function throttlingConfigFromEnv(env: Env): ThrottlingConfig {
  const range = { min: 1, max: 1_000_000 };
  return {
    userPerMinute: envInt(env, 'RATE_LIMIT_USER_PER_MINUTE', 120, range),
    ipPerMinute: envInt(env, 'RATE_LIMIT_IP_PER_MINUTE', 300, range),
    createsPerMinute: envInt(env, 'RATE_LIMIT_CREATES_PER_MINUTE', 10, range),
  };
}
