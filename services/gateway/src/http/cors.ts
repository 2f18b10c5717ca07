import type { FastifyRequest } from 'fastify';

/** A grant, as @fastify/cors takes it: each list already the header's value. */
interface Grant {
  readonly origin: string | false;
  readonly credentials?: boolean;
  readonly methods?: string;
  readonly allowedHeaders?: string;
  readonly exposedHeaders?: string;
  readonly maxAge?: number;
}

const GRANT: Omit<Grant, 'origin'> = {
  credentials: false,
  methods: ['GET', 'POST', 'DELETE'].join(','),
  allowedHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key', 'X-Request-Id'].join(','),
  exposedHeaders: [
    'Location',
    'Retry-After',
    'RateLimit-Limit',
    'RateLimit-Remaining',
    'RateLimit-Reset',
    'RateLimit-Policy',
    'X-Request-Id',
    'Idempotent-Replayed',
  ].join(','),
  maxAge: 600,
};

/**
 * Cross-origin calls from exactly the configured origins (ALLOWED_ORIGINS, the console's among them), with
 * bearer tokens rather than cookies: credentials stay off, so no origin can ride on a browser's session.
 * Any other origin gets no CORS header at all.
 */
export function corsOptions(allowedOrigins: readonly string[]): {
  delegator: (req: FastifyRequest, callback: (error: Error | null, grant: Grant) => void) => void;
} {
  const allowed = new Set(allowedOrigins);
  return {
    delegator: (req, callback) => {
      const origin = req.headers.origin;
      callback(null, origin !== undefined && allowed.has(origin) ? { ...GRANT, origin } : { origin: false });
    },
  };
}
