import { loadYaml } from '@kubernetes/client-node';
import type { Store } from '@urumi/kube';
import { ConfigError } from '@urumi/runtime';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CREDENTIALS_SECRET } from './credentials';
import { ENGINES } from './engines';
import { checkNodeSelector, checkTolerations, StorePlacement } from './placement';

/**
 * Each engine's value overrides, `<dir>/<engine>.yaml` (a mounted ConfigMap; its `..data` entries are
 * skipped), read and checked once at start-up: a broken or misplaced file stops the service, not a store.
 */
export function readEngineValues(dir: string): ReadonlyMap<string, Record<string, unknown>> {
  const values = new Map<string, Record<string, unknown>>();
  for (const name of readDir(dir).filter((entry) => !entry.startsWith('.'))) {
    const file = join(dir, name);
    const engine = ENGINES.find((e) => name === `${e}.yaml`);
    if (!engine) throw new ConfigError(`${file}: no engine of that name; expected one of ${ENGINES.join(', ')}.yaml`);
    const overrides = parse(file);
    const owned = leafPaths(overrides).find((path) =>
      PROVISIONER_VALUES.some((key) => path === key || path.startsWith(`${key}.`)),
    );
    if (owned) throw new ConfigError(`${file}: ${owned} is set by the provisioner and cannot be overridden`);
    if ('nodeSelector' in overrides) checkNodeSelector(`${file}: nodeSelector`, overrides['nodeSelector']);
    if ('tolerations' in overrides) checkTolerations(`${file}: tolerations`, overrides['tolerations']);
    values.set(engine, overrides);
  }
  return values;
}

function readDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (error) {
    throw new ConfigError(`ENGINE_VALUES_DIR ${dir} cannot be read: ${(error as Error).message}`);
  }
}

function parse(file: string): Record<string, unknown> {
  let text: string;
  let parsed: unknown;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`${file} cannot be read: ${(error as Error).message}`);
  }
  if (!text.trim()) return {};
  try {
    parsed = loadYaml(text);
  } catch (error) {
    throw new ConfigError(`${file} is not valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  if (!isMapping(parsed)) throw new ConfigError(`${file} must hold a mapping of chart values`);
  return parsed;
}

function leafPaths(values: Record<string, unknown>, prefix = ''): string[] {
  return Object.entries(values).flatMap(([key, value]) =>
    isMapping(value) ? leafPaths(value, `${prefix}${key}.`) : [`${prefix}${key}`],
  );
}

export interface ChartSettings {
  readonly urlScheme: string;
  readonly storageClass: string;
  readonly placement: StorePlacement;
}

/** The values the provisioner sets (charts/README.md): an engine's overrides may set anything else. */
export const PROVISIONER_VALUES = ['store', 'credentials', 'persistence.storageClass'] as const;

/**
 * The values the engine chart is installed with: the provisioner's own over the engine's overrides. The store
 * placement goes to every engine as `nodeSelector` and `tolerations`, unless the engine's overrides set their own
 * (each replaces the setting whole: an engine whose images only some nodes can run).
 */
export function chartValues(
  store: Store,
  settings: ChartSettings,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  const placement = {
    nodeSelector: overrides['nodeSelector'] ?? settings.placement.nodeSelector,
    tolerations: overrides['tolerations'] ?? settings.placement.tolerations,
  };
  return merged(
    { ...overrides, ...placement },
    {
      store: {
        name: store.metadata.name,
        host: store.spec.domain,
        url: `${settings.urlScheme}://${store.spec.domain}`,
        adminEmail: `admin@${store.spec.domain}`,
      },
      credentials: { secretName: CREDENTIALS_SECRET },
      persistence: { storageClass: settings.storageClass },
    },
  );
}

export const isMapping = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** `over` laid on `under` as Helm merges values files: mappings key by key, anything else replaced. */
function merged(under: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const result = { ...under };
  for (const [key, value] of Object.entries(over)) {
    const below = result[key];
    result[key] = isMapping(value) && isMapping(below) ? merged(below, value) : value;
  }
  return result;
}
