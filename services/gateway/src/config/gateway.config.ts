import { reservedStoreNames } from '@urumi/contracts';
import { envInt, envList, envString } from '@urumi/runtime';
import { natsSettingsFromEnv, NatsSettings } from '@urumi/messaging';

export interface GatewayConfig {
  readonly host: string;
  readonly port: number;
  /** /metrics listens here, on the same host, off the public port (0: any free port). */
  readonly metricsPort: number;
  readonly nats: NatsSettings;
  /** Browser origins allowed to open the live-status WebSocket (and to call the API cross-origin). */
  readonly allowedOrigins: readonly string[];
  /** Stores are served at <name>.<baseDomain>. */
  readonly baseDomain: string;
  readonly storeUrlScheme: 'http' | 'https';
  /** Names no store may take: the fixed list and those of the platform's own hosts (PLATFORM_HOSTS). */
  readonly reservedStoreNames: ReadonlySet<string>;
  /** How many proxies in front of the gateway may set X-Forwarded-For (see trustedHops). */
  readonly trustedProxies: number;
  readonly bodyLimitBytes: number;
}

export const GATEWAY_CONFIG = Symbol('GATEWAY_CONFIG');

/**
 * Which addresses may name the client, as Fastify's `trustProxy` and proxy-addr take it: the `trustedProxies` hops
 * nearest the gateway, so the client is the address the farthest of them saw.
 */
export function trustedHops(trustedProxies: number): (address: string, hop: number) => boolean {
  return (_address, hop) => hop < trustedProxies;
}

export function gatewayConfigFromEnv(env: NodeJS.ProcessEnv): GatewayConfig {
  const port = envInt(env, 'GATEWAY_PORT', 8080, { min: 1, max: 65535 });
  const scheme = envString(env, 'STORE_URL_SCHEME', 'http');
  if (scheme !== 'http' && scheme !== 'https')
    throw new Error(`STORE_URL_SCHEME must be http or https, not "${scheme}"`);
  const baseDomain = envString(env, 'BASE_DOMAIN', '127.0.0.1.nip.io');
  return {
    host: envString(env, 'GATEWAY_HOST', '127.0.0.1'),
    port,
    metricsPort: envInt(env, 'GATEWAY_METRICS_PORT', 9090, { min: 0, max: 65535 }),
    nats: natsSettingsFromEnv(env),
    allowedOrigins: envList(env, 'ALLOWED_ORIGINS', [`http://127.0.0.1:${port}`, `http://localhost:${port}`]),
    baseDomain,
    storeUrlScheme: scheme,
    reservedStoreNames: reservedStoreNames(envList(env, 'PLATFORM_HOSTS', [`console.${baseDomain}`]), baseDomain),
    trustedProxies: envInt(env, 'TRUSTED_PROXIES', 0, { max: 10 }),
    bodyLimitBytes: envInt(env, 'BODY_LIMIT_BYTES', 8 * 1024, { min: 256, max: 1024 * 1024 }),
  };
}
