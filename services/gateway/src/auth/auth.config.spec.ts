import { ConfigError } from '@urumi/runtime';
import { authConfigFromEnv } from './auth.config';

const oidcEnv = {
  AUTH_MODE: 'oidc',
  OIDC_ISSUER: 'https://id.example.com/realms/urumi',
  OIDC_AUDIENCE: 'urumi-api',
};

describe(authConfigFromEnv.name, () => {
  it('defaults to the local tokens file', () => {
    expect(authConfigFromEnv({})).toEqual({ mode: 'tokens', tokensFile: '.sandbox/tokens.json' });
    expect(authConfigFromEnv({ AUTH_TOKENS_FILE: '/etc/urumi/tokens.json' })).toEqual({
      mode: 'tokens',
      tokensFile: '/etc/urumi/tokens.json',
    });
  });

  it('reads OIDC settings, with defaults for the optional ones', () => {
    expect(authConfigFromEnv(oidcEnv)).toEqual({
      mode: 'oidc',
      issuer: 'https://id.example.com/realms/urumi',
      audience: 'urumi-api',
      jwksUrl: undefined,
      algorithms: ['RS256', 'ES256'],
      userClaim: 'sub',
      displayNameClaim: 'preferred_username',
      groupsClaim: 'groups',
      adminGroup: 'urumi-admins',
      clockToleranceSeconds: 30,
      jwksCacheSeconds: 600,
    });
    expect(
      authConfigFromEnv({
        ...oidcEnv,
        OIDC_JWKS_URL: 'https://id.example.com/certs',
        OIDC_ALGORITHMS: 'PS256, EdDSA',
        OIDC_USER_CLAIM: 'email',
        OIDC_GROUPS_CLAIM: 'roles',
        OIDC_ADMIN_GROUP: 'ops',
        OIDC_DISPLAY_NAME_CLAIM: 'name',
        OIDC_CLOCK_TOLERANCE_SECONDS: '0',
        OIDC_JWKS_CACHE_SECONDS: '60',
      }),
    ).toMatchObject({
      displayNameClaim: 'name',
      clockToleranceSeconds: 0,
      jwksCacheSeconds: 60,
      jwksUrl: 'https://id.example.com/certs',
      algorithms: ['PS256', 'EdDSA'],
      userClaim: 'email',
      groupsClaim: 'roles',
      adminGroup: 'ops',
    });
  });

  it.each([
    ['an unknown mode', { AUTH_MODE: 'ldap' }, 'AUTH_MODE must be "tokens" or "oidc", not "ldap"'],
    ['no issuer', { AUTH_MODE: 'oidc', OIDC_AUDIENCE: 'urumi-api' }, 'OIDC_ISSUER is required'],
    ['no audience', { AUTH_MODE: 'oidc', OIDC_ISSUER: oidcEnv.OIDC_ISSUER }, 'OIDC_AUDIENCE is required'],
    [
      'an issuer that is not a URL',
      { ...oidcEnv, OIDC_ISSUER: 'id.example.com' },
      'OIDC_ISSUER must be a URL, not "id.example.com"',
    ],
    ['a plain-http issuer', { ...oidcEnv, OIDC_ISSUER: 'http://id.example.com' }, /OIDC_ISSUER must be an https URL/],
    [
      'a plain-http JWKS URL',
      { ...oidcEnv, OIDC_JWKS_URL: 'http://id.example.com/certs' },
      /OIDC_JWKS_URL must be an https URL/,
    ],
    [
      'a symmetric algorithm',
      { ...oidcEnv, OIDC_ALGORITHMS: 'RS256,HS256' },
      /OIDC_ALGORITHMS: "HS256" is not allowed \(symmetric algorithms are refused\)/,
    ],
    ['an unknown algorithm', { ...oidcEnv, OIDC_ALGORITHMS: 'none' }, /OIDC_ALGORITHMS: "none" is not allowed/],
  ])('refuses %s with a clear error', (_case, env, message) => {
    expect(() => authConfigFromEnv(env)).toThrow(ConfigError);
    expect(() => authConfigFromEnv(env)).toThrow(message);
  });

  it('allows plain http for an issuer on loopback', () => {
    expect(authConfigFromEnv({ ...oidcEnv, OIDC_ISSUER: 'http://127.0.0.1:8081/realms/urumi' })).toMatchObject({
      issuer: 'http://127.0.0.1:8081/realms/urumi',
    });
  });
});
