/**
 * Store names become a namespace (`store-<name>`) and a host name (`<name>.<baseDomain>`): a DNS-1123
 * label of 3–40 characters that no platform host uses. The gateway and the console apply the same rule.
 */
export const STORE_NAME_MIN_LENGTH = 3;
export const STORE_NAME_MAX_LENGTH = 40;
export const STORE_NAME_PATTERN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const RESERVED_STORE_NAMES: ReadonlySet<string> = new Set([
  'admin',
  'api',
  'app',
  'console',
  'dashboard',
  'default',
  'localhost',
  'mail',
  'platform',
  'status',
  'system',
  'urumi',
  'www',
]);

/** Why `name` can't be a store name, in words a person understands; undefined when it can. */
export function storeNameProblem(name: string): string | undefined {
  if (name.length < STORE_NAME_MIN_LENGTH || name.length > STORE_NAME_MAX_LENGTH) {
    return `name must be ${STORE_NAME_MIN_LENGTH}–${STORE_NAME_MAX_LENGTH} characters long`;
  }
  if (!STORE_NAME_PATTERN.test(name)) {
    return 'name may contain only lowercase letters, digits and hyphens, and must start and end with a letter or digit';
  }
  if (RESERVED_STORE_NAMES.has(name)) return `name "${name}" is reserved`;
  return undefined;
}
