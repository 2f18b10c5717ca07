import { buckets } from '@urumi/contracts';
import { ConfigError, envInt, envJson, envString } from '@urumi/runtime';
import { OwnerLimits, QuotaLimits } from '../quota/ledger';
import { natsSettingsFromEnv, NatsSettings } from '@urumi/messaging';

export interface QuotaConfig {
  readonly host: string;
  readonly port: number;
  readonly nats: NatsSettings;
  readonly limits: QuotaLimits;
  /** The JetStream KV bucket holding the ledger. */
  readonly bucket: string;
}

export const QUOTA_CONFIG = Symbol('QUOTA_CONFIG');

const ownerLimitNames: readonly (keyof OwnerLimits)[] = [
  'maxActiveStores',
  'maxCreatesPerHour',
  'maxCreatesPerSourcePerHour',
];

/** Reads and checks the configuration; throws a ConfigError naming the variable at fault. */
export function quotaConfigFromEnv(env: NodeJS.ProcessEnv): QuotaConfig {
  return {
    host: envString(env, 'QUOTA_HOST', '127.0.0.1'),
    port: envInt(env, 'QUOTA_PORT', 8081, { min: 1, max: 65535 }),
    nats: natsSettingsFromEnv(env),
    limits: {
      owner: {
        maxActiveStores: envInt(env, 'QUOTA_MAX_ACTIVE_STORES_PER_OWNER', 3),
        maxCreatesPerHour: envInt(env, 'QUOTA_MAX_CREATES_PER_OWNER_PER_HOUR', 10),
        maxCreatesPerSourcePerHour: envInt(env, 'QUOTA_MAX_CREATES_PER_SOURCE_PER_HOUR', 30),
      },
      overrides: ownerOverrides(envJson<unknown>(env, 'QUOTA_OWNER_OVERRIDES', {})),
      platformMaxActiveStores: envInt(env, 'QUOTA_MAX_ACTIVE_STORES', 200),
    },
    bucket: envString(env, 'QUOTA_BUCKET', buckets.quota),
  };
}

function ownerOverrides(value: unknown): Record<string, Partial<OwnerLimits>> {
  const name = 'QUOTA_OWNER_OVERRIDES';
  if (!isPlainObject(value)) throw new ConfigError(`${name} must be a JSON object of owner → limits`);
  const overrides: Record<string, Partial<OwnerLimits>> = {};
  for (const [owner, limits] of Object.entries(value)) {
    if (!isPlainObject(limits)) throw new ConfigError(`${name}: the limits of "${owner}" must be an object`);
    const override: Partial<Record<keyof OwnerLimits, number>> = {};
    for (const [key, limit] of Object.entries(limits)) {
      const known = ownerLimitNames.find((limitName) => limitName === key);
      if (!known) {
        throw new ConfigError(
          `${name}: "${owner}" has an unknown limit "${key}" (known: ${ownerLimitNames.join(', ')})`,
        );
      }
      if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 0) {
        throw new ConfigError(`${name}: ${owner}.${key} must be a whole number ≥ 0, not ${JSON.stringify(limit)}`);
      }
      override[known] = limit;
    }
    overrides[owner] = override;
  }
  return overrides;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
