import { ConfigError } from '@urumi/runtime';

/** A pod toleration as Kubernetes spells it (core/v1 Toleration). */
export interface Toleration {
  readonly key?: string;
  readonly operator?: 'Equal' | 'Exists';
  readonly value?: string;
  readonly effect?: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
  readonly tolerationSeconds?: number;
}

/** Where a store's pods may run: every engine chart gets these as its `nodeSelector` and `tolerations` values. */
export interface StorePlacement {
  readonly nodeSelector: Readonly<Record<string, string>>;
  readonly tolerations: readonly Toleration[];
}

export const ANYWHERE: StorePlacement = { nodeSelector: {}, tolerations: [] };

const EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'] as const;
const OPERATORS = ['Equal', 'Exists'] as const;
const TOLERATION_FIELDS = new Set(['key', 'operator', 'value', 'effect', 'tolerationSeconds']);
/** A qualified name with an optional DNS-subdomain prefix, as label and taint keys are. */
const KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

/**
 * STORE_NODE_SELECTOR: a JSON object (`{"urumi.dev/node":"real"}`) or comma-separated `key=value` pairs
 * (`urumi.dev/node=real,pool=stores`); empty: no selector.
 */
export function parseNodeSelector(name: string, raw: string | undefined): Record<string, string> {
  const text = raw?.trim();
  // JSON null too: what a chart's toJson writes for an unset value.
  if (!text || text === 'null') return {};
  const parsed = text.startsWith('{') ? json(name, text) : Object.fromEntries(pairs(name, text));
  return checkNodeSelector(name, parsed);
}

/**
 * STORE_TOLERATIONS: a JSON array of tolerations, or comma-separated taints as `kubectl taint` writes them —
 * `key=value:Effect` (Equal), `key:Effect` (Exists), an effect left off for every effect; empty: none.
 */
export function parseTolerations(name: string, raw: string | undefined): Toleration[] {
  const text = raw?.trim();
  if (!text || text === 'null') return [];
  if (text.startsWith('[')) return checkTolerations(name, json(name, text));
  if (text.startsWith('{'))
    throw new ConfigError(`${name} must be a JSON array of tolerations ([{…}]), not one object`);
  return checkTolerations(
    name,
    text.split(',').map((item) => tolerationOf(name, item.trim())),
  );
}

/** A nodeSelector value (from the environment or an engine's overrides): a map of label keys to label values. */
export function checkNodeSelector(name: string, value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError(
      `${name} must map label keys to values, e.g. {"urumi.dev/node":"real"} or urumi.dev/node=real`,
    );
  }
  for (const [key, label] of Object.entries(value)) {
    if (!KEY.test(key)) throw new ConfigError(`${name}: "${key}" is not a valid label key`);
    if (typeof label !== 'string' || !VALUE.test(label)) {
      throw new ConfigError(
        `${name}: the value of ${key} must be a label value (63 characters at most), not ${JSON.stringify(label)}`,
      );
    }
  }
  return value as Record<string, string>;
}

/** A tolerations value (from the environment or an engine's overrides): a list of core/v1 tolerations. */
export function checkTolerations(name: string, value: unknown): Toleration[] {
  if (!Array.isArray(value)) throw new ConfigError(`${name} must be a list of tolerations`);
  return value.map((item: unknown, i) => checkToleration(`${name}[${i}]`, item));
}

function checkToleration(name: string, value: unknown): Toleration {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError(`${name} must be a toleration object ({key, operator, value, effect})`);
  }
  const t = value as Record<string, unknown>;
  const unknown = Object.keys(t).find((field) => !TOLERATION_FIELDS.has(field));
  if (unknown)
    throw new ConfigError(
      `${name}: unknown field "${unknown}" (a toleration has ${[...TOLERATION_FIELDS].join(', ')})`,
    );
  const operator = t['operator'] ?? 'Equal';
  if (!OPERATORS.includes(operator as never)) {
    throw new ConfigError(`${name}: operator must be Equal or Exists, not ${JSON.stringify(t['operator'])}`);
  }
  if (t['key'] !== undefined && (typeof t['key'] !== 'string' || !KEY.test(t['key']))) {
    throw new ConfigError(`${name}: ${JSON.stringify(t['key'])} is not a valid taint key`);
  }
  if (t['key'] === undefined && operator !== 'Exists') {
    throw new ConfigError(`${name}: a toleration without a key must use the Exists operator`);
  }
  if (t['value'] !== undefined && (typeof t['value'] !== 'string' || !VALUE.test(t['value']))) {
    throw new ConfigError(`${name}: ${JSON.stringify(t['value'])} is not a valid taint value`);
  }
  if (operator === 'Exists' && t['value']) throw new ConfigError(`${name}: the Exists operator takes no value`);
  if (t['effect'] !== undefined && !EFFECTS.includes(t['effect'] as never)) {
    throw new ConfigError(`${name}: effect must be one of ${EFFECTS.join(', ')}, not ${JSON.stringify(t['effect'])}`);
  }
  const seconds = t['tolerationSeconds'];
  if (seconds !== undefined) {
    if (!Number.isInteger(seconds) || (seconds as number) < 0) {
      throw new ConfigError(`${name}: tolerationSeconds must be a whole number of seconds`);
    }
    if (t['effect'] !== 'NoExecute') throw new ConfigError(`${name}: tolerationSeconds applies to NoExecute only`);
  }
  return t as Toleration;
}

/** `key=value:Effect`, `key:Effect`, `key=value` or `key` → the toleration of that taint. */
function tolerationOf(name: string, item: string): Toleration {
  const match = /^([^=:]+)(?:=([^:]*))?(?::(.+))?$/.exec(item);
  if (!match) throw new ConfigError(`${name}: "${item}" is not key=value:Effect, key:Effect or key=value`);
  const [, key = '', value, effect] = match;
  return {
    key,
    ...(value === undefined ? { operator: 'Exists' as const } : { operator: 'Equal' as const, value }),
    ...(effect !== undefined && { effect: effect as Toleration['effect'] }),
  };
}

function pairs(name: string, text: string): [string, string][] {
  return text.split(',').map((item) => {
    const at = item.indexOf('=');
    if (at <= 0) throw new ConfigError(`${name}: "${item.trim()}" is not key=value`);
    return [item.slice(0, at).trim(), item.slice(at + 1).trim()];
  });
}

function json(name: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ConfigError(`${name} must be valid JSON or key=value form, not "${text}"`);
  }
}
