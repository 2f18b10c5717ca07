import { ConfigError, envInt, envList, envString } from '@urumi/runtime';

/** Asymmetric JWS algorithms only: a symmetric one (HS256) would let anyone holding the shared secret mint tokens. */
export const OIDC_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;
export type OidcAlgorithm = (typeof OIDC_ALGORITHMS)[number];

export const DEFAULT_CLOCK_TOLERANCE_SECONDS = 30;
export const DEFAULT_JWKS_CACHE_SECONDS = 600;
export const DEFAULT_DISPLAY_NAME_CLAIM = 'preferred_username';

/** Routes of controllers we don't own (OperationsModule's probes and metrics) that answer without a token. */
export const DEFAULT_PUBLIC_PATHS: readonly string[] = ['/healthz', '/readyz'];

interface CommonAuthConfig {
  /** Exact request paths that need no token, besides handlers marked @Public(). Default: DEFAULT_PUBLIC_PATHS. */
  readonly publicPaths?: readonly string[];
}

/** Local users: a JSON array of `{name, role, token}`. */
export interface TokensAuthConfig extends CommonAuthConfig {
  readonly mode: 'tokens';
  readonly tokensFile: string;
}

/** OIDC access or ID tokens (JWTs), verified against the issuer's JWKS. */
export interface OidcAuthConfig extends CommonAuthConfig {
  readonly mode: 'oidc';
  /** Must equal the tokens' `iss` exactly. */
  readonly issuer: string;
  /** Must be one of the tokens' `aud`. */
  readonly audience: string;
  /** Default: the `jwks_uri` of `<issuer>/.well-known/openid-configuration`. */
  readonly jwksUrl?: string;
  readonly algorithms: readonly OidcAlgorithm[];
  /**
   * The claim naming the owner of what the user creates: keep the immutable `sub` (a mutable claim such as
   * `preferred_username` would let a renamed user take over another's stores). Its value must be 1–128 of
   * `A–Z a–z 0–9 . _ @ : | + = -`, else the token is refused.
   */
  readonly userClaim: string;
  /** The claim shown to people as the user's name (default `preferred_username`, else the user claim). */
  readonly displayNameClaim?: string;
  readonly groupsClaim: string;
  /** Members of this group are admins; everyone else is a tenant. */
  readonly adminGroup: string;
  /** Allowed clock skew for `exp`/`nbf`/`iat` (default 30 s). */
  readonly clockToleranceSeconds?: number;
  /**
   * How long the issuer's keys are trusted before they are fetched again (default 600 s): a key the issuer
   * withdraws is refused at most this long after. A token signed with an unknown key fetches them at once.
   */
  readonly jwksCacheSeconds?: number;
}

export type AuthConfig = TokensAuthConfig | OidcAuthConfig;

export const AUTH_CONFIG = Symbol('AUTH_CONFIG');

type Env = Readonly<Record<string, string | undefined>>;

/**
 * AUTH_MODE=tokens (default) reads AUTH_TOKENS_FILE (default .sandbox/tokens.json); AUTH_MODE=oidc reads
 * OIDC_ISSUER, OIDC_AUDIENCE (required), OIDC_JWKS_URL, OIDC_ALGORITHMS (RS256,ES256), OIDC_USER_CLAIM (sub),
 * OIDC_DISPLAY_NAME_CLAIM (preferred_username), OIDC_GROUPS_CLAIM (groups), OIDC_ADMIN_GROUP (urumi-admins),
 * OIDC_CLOCK_TOLERANCE_SECONDS (30) and OIDC_JWKS_CACHE_SECONDS (600).
 */
export function authConfigFromEnv(env: Env): AuthConfig {
  const mode = envString(env, 'AUTH_MODE', 'tokens');
  if (mode === 'tokens') {
    return { mode, tokensFile: envString(env, 'AUTH_TOKENS_FILE', '.sandbox/tokens.json') };
  }
  if (mode !== 'oidc') throw new ConfigError(`AUTH_MODE must be "tokens" or "oidc", not "${mode}"`);
  const config: OidcAuthConfig = {
    mode,
    issuer: envString(env, 'OIDC_ISSUER'),
    audience: envString(env, 'OIDC_AUDIENCE'),
    jwksUrl: env['OIDC_JWKS_URL']?.trim() || undefined,
    algorithms: parseAlgorithms(envList(env, 'OIDC_ALGORITHMS', ['RS256', 'ES256']), 'OIDC_ALGORITHMS'),
    userClaim: envString(env, 'OIDC_USER_CLAIM', 'sub'),
    displayNameClaim: envString(env, 'OIDC_DISPLAY_NAME_CLAIM', DEFAULT_DISPLAY_NAME_CLAIM),
    groupsClaim: envString(env, 'OIDC_GROUPS_CLAIM', 'groups'),
    adminGroup: envString(env, 'OIDC_ADMIN_GROUP', 'urumi-admins'),
    clockToleranceSeconds: envInt(env, 'OIDC_CLOCK_TOLERANCE_SECONDS', DEFAULT_CLOCK_TOLERANCE_SECONDS, {
      min: 0,
      max: 300,
    }),
    jwksCacheSeconds: envInt(env, 'OIDC_JWKS_CACHE_SECONDS', DEFAULT_JWKS_CACHE_SECONDS, { min: 1, max: 86_400 }),
  };
  validateOidcConfig(config, { issuer: 'OIDC_ISSUER', jwksUrl: 'OIDC_JWKS_URL', algorithms: 'OIDC_ALGORITHMS' });
  return config;
}

/** Throws a ConfigError naming the setting at fault; `names` maps fields to the variables they came from. */
export function validateOidcConfig(
  config: OidcAuthConfig,
  names: { issuer: string; jwksUrl: string; algorithms: string } = {
    issuer: 'issuer',
    jwksUrl: 'jwksUrl',
    algorithms: 'algorithms',
  },
): void {
  checkUrl(config.issuer, names.issuer);
  if (config.jwksUrl !== undefined) checkUrl(config.jwksUrl, names.jwksUrl);
  if (!config.audience.trim()) throw new ConfigError('the OIDC audience must not be empty');
  parseAlgorithms(config.algorithms, names.algorithms);
  if (!config.userClaim || !config.groupsClaim || !config.adminGroup) {
    throw new ConfigError('the OIDC user claim, groups claim and admin group must not be empty');
  }
}

function parseAlgorithms(values: readonly string[], name: string): OidcAlgorithm[] {
  if (values.length === 0) throw new ConfigError(`${name} must list at least one algorithm`);
  return values.map((value) => {
    if (isOidcAlgorithm(value)) return value;
    const why = /^HS/i.test(value) ? ' (symmetric algorithms are refused)' : '';
    throw new ConfigError(`${name}: "${value}" is not allowed${why}; use some of ${OIDC_ALGORITHMS.join(', ')}`);
  });
}

function isOidcAlgorithm(value: string): value is OidcAlgorithm {
  return (OIDC_ALGORITHMS as readonly string[]).includes(value);
}

/** https, except on loopback (a local identity provider in development and tests). */
function checkUrl(value: string, name: string): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${name} must be a URL, not "${value}"`);
  }
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new ConfigError(`${name} must be an https URL (http only on localhost), not "${value}"`);
  }
}
