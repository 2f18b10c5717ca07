import type { CorsOptions, CorsOptionsDelegate } from '@nestjs/common/interfaces/external/cors-options.interface';
import type { Request } from 'express';

const GRANT: CorsOptions = {
  credentials: false,
  methods: ['GET', 'POST', 'DELETE'],
  allowedHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key', 'X-Request-Id'],
  exposedHeaders: [
    'Location',
    'Retry-After',
    'RateLimit-Limit',
    'RateLimit-Remaining',
    'RateLimit-Reset',
    'RateLimit-Policy',
    'X-Request-Id',
    'Idempotent-Replayed',
  ],
  maxAge: 600,
};

/**
 * Cross-origin calls from exactly the configured origins (ALLOWED_ORIGINS, the console's among them), with
 * bearer tokens rather than cookies: credentials stay off, so no origin can ride on a browser's session.
 * Any other origin gets no CORS header at all.
 */
export function corsOptions(allowedOrigins: readonly string[]): CorsOptionsDelegate<Request> {
  const allowed = new Set(allowedOrigins);
  return (req, callback) => {
    const origin = req.headers.origin;
    callback(null, origin !== undefined && allowed.has(origin) ? { ...GRANT, origin } : { origin: false });
  };
}
