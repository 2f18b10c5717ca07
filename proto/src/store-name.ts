/**
 * Store names become a namespace (`store-<name>`) and a host name (`<name>.<baseDomain>`): a DNS-1123
 * label of 3–40 characters that no platform host uses. The gateway and the console apply the same rule; the gateway
 * also knows the platform's hosts (reservedStoreNames).
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

/**
 * The fixed list and every name the platform's own hosts use: the first label of each host (`console` of
 * `console.example.com`), and for a host under the stores' base domain the label a store there would take (`shop` of
 * `api.shop.stores.example.com`), so no store is served at, or above, a platform host.
 */
export function reservedStoreNames(platformHosts: readonly string[], baseDomain: string): ReadonlySet<string> {
  const suffix = `.${baseDomain.toLowerCase()}`;
  const derived = platformHosts.flatMap((host) => {
    const labels = host.toLowerCase().split('.');
    const underBase = host.toLowerCase().endsWith(suffix) ? host.slice(0, -suffix.length).split('.') : [];
    return [labels[0] ?? '', underBase.at(-1) ?? ''].filter(Boolean);
  });
  return new Set([...RESERVED_STORE_NAMES, ...derived.map((label) => label.toLowerCase())]);
}

/** Why `name` can't be a store name, in words a person understands; undefined when it can. */
export function storeNameProblem(
  name: string,
  reserved: ReadonlySet<string> = RESERVED_STORE_NAMES,
): string | undefined {
  if (name.length < STORE_NAME_MIN_LENGTH || name.length > STORE_NAME_MAX_LENGTH) {
    return `name must be ${STORE_NAME_MIN_LENGTH}–${STORE_NAME_MAX_LENGTH} characters long`;
  }
  if (!STORE_NAME_PATTERN.test(name)) {
    return 'name may contain only lowercase letters, digits and hyphens, and must start and end with a letter or digit';
  }
  if (reserved.has(name)) return `name "${name}" is reserved`;
  return undefined;
}
