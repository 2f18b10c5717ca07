import { buckets } from '@urumi/contracts';
import { ConfigError, envInt, envString } from '@urumi/runtime';
import { resolve } from 'node:path';
import type { Plan } from '@urumi/kube';

export interface ProvisionerConfig {
  readonly host: string;
  readonly port: number;
  readonly natsUrl: string;
  /** Stores reconciled at the same time. */
  readonly workers: number;
  /** Stores are served at <name>.<baseDomain>. */
  readonly baseDomain: string;
  /** http locally; https where cert-manager issues certificates. */
  readonly urlScheme: 'http' | 'https';
  readonly plan: Plan;
  /** Where the engine charts (charts/store-<engine>) are. */
  readonly chartsDir: string;
  readonly helmBinary: string;
  readonly ingressClass: string;
  /** The ingress controller's namespace: the only one whose pods may reach a store. */
  readonly ingressNamespace: string;
  /** A store that is not Ready this long after its provisioning began is Failed. */
  readonly provisionTimeoutMs: number;
  /** Every store is looked at again this often, to restore what changed without an event (e.g. a Secret). */
  readonly resyncMs: number;
  readonly lifecycleBucket: string;
}

export function provisionerConfigFromEnv(env: NodeJS.ProcessEnv): ProvisionerConfig {
  const scheme = envString(env, 'STORE_URL_SCHEME', 'http');
  const plan = envString(env, 'STORE_PLAN', 'small');
  return {
    host: envString(env, 'PROVISIONER_HOST', '127.0.0.1'),
    port: envInt(env, 'PROVISIONER_PORT', 8082, { min: 1, max: 65535 }),
    natsUrl: envString(env, 'NATS_URL', 'nats://127.0.0.1:4222'),
    workers: envInt(env, 'PROVISIONER_WORKERS', 4, { min: 1, max: 64 }),
    baseDomain: envString(env, 'BASE_DOMAIN', '127.0.0.1.nip.io'),
    urlScheme: oneOf('STORE_URL_SCHEME', scheme, ['http', 'https'] as const),
    plan: oneOf('STORE_PLAN', plan, ['small', 'medium', 'large'] as const),
    chartsDir: resolve(envString(env, 'CHARTS_DIR', 'charts')),
    helmBinary: envString(env, 'HELM_BINARY', 'helm'),
    ingressClass: envString(env, 'INGRESS_CLASS', 'nginx'),
    ingressNamespace: envString(env, 'INGRESS_NAMESPACE', 'ingress-nginx'),
    provisionTimeoutMs: envInt(env, 'PROVISION_TIMEOUT_SECONDS', 600, { min: 10 }) * 1000,
    resyncMs: envInt(env, 'RESYNC_SECONDS', 60, { min: 5 }) * 1000,
    lifecycleBucket: envString(env, 'LIFECYCLE_BUCKET', buckets.storeLifecycle),
  };
}

function oneOf<T extends string>(name: string, value: string, allowed: readonly T[]): T {
  const found = allowed.find((a) => a === value);
  if (!found) throw new ConfigError(`${name} must be one of ${allowed.join(', ')}, not "${value}"`);
  return found;
}
