/** Reading service configuration from the environment, failing at start-up with a message that names the variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

type Env = Readonly<Record<string, string | undefined>>;

export function envString(env: Env, name: string, fallback?: string): string {
  const value = env[name]?.trim() || fallback;
  if (value === undefined) throw new ConfigError(`${name} is required`);
  return value;
}

export function envInt(
  env: Env,
  name: string,
  fallback: number,
  { min = 0, max = Number.MAX_SAFE_INTEGER } = {},
): number {
  return envNumeric(env, name, fallback, min, max, 'a whole number', Number.isInteger);
}

/** A number (fractions allowed, e.g. seconds like 0.5) in range; anything else names the variable. */
export function envNumber(
  env: Env,
  name: string,
  fallback: number,
  { min = 0, max = Number.MAX_SAFE_INTEGER } = {},
): number {
  return envNumeric(env, name, fallback, min, max, 'a number', Number.isFinite);
}

function envNumeric(
  env: Env,
  name: string,
  fallback: number,
  min: number,
  max: number,
  kind: string,
  isKind: (value: number) => boolean,
): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!isKind(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be ${kind} from ${min} to ${max}, not "${raw}"`);
  }
  return value;
}

export function envList(env: Env, name: string, fallback: readonly string[]): string[] {
  const raw = env[name]?.trim();
  return raw
    ? raw
        .split(',')
        .map((item) => item.trim())
        .filter(Boolean)
    : [...fallback];
}

export function envJson<T>(env: Env, name: string, fallback: T): T {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  try {
    return JSON.parse(raw) as T;
  } catch {
    throw new ConfigError(`${name} must be JSON, not "${raw}"`);
  }
}
