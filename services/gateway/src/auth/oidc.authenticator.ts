import { Logger, ServiceUnavailableException, UnauthorizedException } from '@nestjs/common';
import { createRemoteJWKSet, JWTPayload, jwtVerify } from 'jose';
import {
  DEFAULT_CLOCK_TOLERANCE_SECONDS,
  DEFAULT_JWKS_CACHE_SECONDS,
  DEFAULT_DISPLAY_NAME_CLAIM,
  OidcAuthConfig,
  validateOidcConfig,
} from './auth.config';
import { Authenticator } from './authenticator';
import { Principal } from './principal';

type KeySet = ReturnType<typeof createRemoteJWKSet>;

const DISCOVERY_TIMEOUT_MS = 5_000;
/** An owner id is stored, logged and compared everywhere: bounded and plain, whatever the identity provider sends. */
const OWNER_ID = /^[\w.@:|+=-]{1,128}$/;
const MAX_DISPLAY_NAME_LENGTH = 128;
/** What a refused token learns; the reason goes to the log, as it names the expected issuer and audience. */
const INVALID_TOKEN = 'bearer token is not valid for this API';

/** Failures of the identity provider (its keys can't be fetched), not of the token: 503, not 401. */
const PROVIDER_FAILURES = new Set(['ERR_JWKS_TIMEOUT', 'ERR_JWKS_INVALID', 'ERR_JOSE_GENERIC']);

/**
 * OIDC JWTs: the signature is checked against the issuer's JWKS (fetched and cached by jose, refetched
 * when a token names an unknown key), then `iss`, `aud` and `exp` (with a small clock tolerance), with
 * only the configured asymmetric algorithms accepted.
 */
export class OidcAuthenticator extends Authenticator {
  private readonly logger = new Logger(OidcAuthenticator.name);
  private keySet?: Promise<KeySet>;

  constructor(private readonly config: OidcAuthConfig) {
    super();
    validateOidcConfig(config);
  }

  async authenticate(token: string): Promise<Principal> {
    const keys = await this.keys();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer: this.config.issuer,
        audience: this.config.audience,
        algorithms: [...this.config.algorithms],
        clockTolerance: this.clockToleranceSeconds,
        requiredClaims: ['exp'],
      }));
    } catch (error) {
      throw this.refusal(error);
    }
    return this.principalOf(payload);
  }

  private get clockToleranceSeconds(): number {
    return this.config.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS;
  }

  private principalOf(payload: JWTPayload): Principal {
    const name = claim(payload, this.config.userClaim);
    if (typeof name !== 'string' || !OWNER_ID.test(name)) {
      this.logger.warn({
        msg: 'Refused a bearer token whose user claim is missing or not a bounded plain id',
        claim: this.config.userClaim,
      });
      throw new UnauthorizedException(`bearer token has no usable "${this.config.userClaim}" claim naming the user`);
    }
    const groups = claim(payload, this.config.groupsClaim);
    const member = Array.isArray(groups) ? groups.includes(this.config.adminGroup) : groups === this.config.adminGroup;
    return {
      name,
      role: member ? 'admin' : 'tenant',
      displayName: displayNameOf(claim(payload, this.config.displayNameClaim ?? DEFAULT_DISPLAY_NAME_CLAIM)) ?? name,
      // jwtVerify required `exp`.
      expiresAt: new Date(((payload.exp ?? 0) + this.clockToleranceSeconds) * 1000),
    };
  }

  private keys(): Promise<KeySet> {
    this.keySet ??= this.discoverJwksUrl().then(
      (url) =>
        createRemoteJWKSet(new URL(url), {
          cacheMaxAge: (this.config.jwksCacheSeconds ?? DEFAULT_JWKS_CACHE_SECONDS) * 1000,
          // A token with a key not seen yet (a rotation) fetches the keys again, at most this often.
          cooldownDuration: Math.min(30, this.config.jwksCacheSeconds ?? DEFAULT_JWKS_CACHE_SECONDS) * 1000,
        }),
      (error: unknown) => {
        this.keySet = undefined;
        this.logger.warn({ msg: 'OIDC discovery failed', issuer: this.config.issuer, error: String(error) });
        throw new ServiceUnavailableException('cannot verify bearer tokens: the identity provider is unreachable');
      },
    );
    return this.keySet;
  }

  private async discoverJwksUrl(): Promise<string> {
    if (this.config.jwksUrl) return this.config.jwksUrl;
    const url = `${this.config.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
    const response = await fetch(url, { signal: AbortSignal.timeout(DISCOVERY_TIMEOUT_MS) });
    if (!response.ok) throw new Error(`${url} answered ${response.status}`);
    const document = (await response.json()) as { issuer?: unknown; jwks_uri?: unknown };
    if (document.issuer !== this.config.issuer)
      throw new Error(`${url} names another issuer: ${String(document.issuer)}`);
    if (typeof document.jwks_uri !== 'string') throw new Error(`${url} has no jwks_uri`);
    return document.jwks_uri;
  }

  private refusal(error: unknown): Error {
    const code = (error as { code?: unknown }).code;
    if (typeof code !== 'string' || !code.startsWith('ERR_J') || PROVIDER_FAILURES.has(code)) {
      this.logger.warn({
        msg: 'Could not fetch the OIDC signing keys',
        issuer: this.config.issuer,
        error: String(error),
      });
      return new ServiceUnavailableException('cannot verify bearer tokens: the identity provider is unreachable');
    }
    switch (code) {
      case 'ERR_JWT_EXPIRED':
        return new UnauthorizedException('bearer token has expired');
      case 'ERR_JWT_CLAIM_VALIDATION_FAILED': {
        const { claim: name, reason } = error as { claim?: string; reason?: string };
        if (name === 'nbf') return new UnauthorizedException('bearer token is not valid yet');
        if (reason === 'missing' && name === 'exp') return new UnauthorizedException('bearer token has no "exp" claim');
        this.logger.warn({ msg: 'Refused a bearer token', claim: name, reason, error: String(error) });
        return new UnauthorizedException(INVALID_TOKEN);
      }
      case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
        return new UnauthorizedException('bearer token signature is invalid');
      case 'ERR_JOSE_ALG_NOT_ALLOWED':
      case 'ERR_JWKS_NO_MATCHING_KEY':
        this.logger.warn({ msg: 'Refused a bearer token', code, error: String(error) });
        return new UnauthorizedException(INVALID_TOKEN);
      default:
        return new UnauthorizedException('bearer token is not a valid signed JWT');
    }
  }
}

/** A bounded, printable name for people, or undefined when the claim holds none. */
function displayNameOf(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const printable = value.replace(/[\p{Cc}\p{Cf}]/gu, '').trim();
  return printable ? [...printable].slice(0, MAX_DISPLAY_NAME_LENGTH).join('') : undefined;
}

/** A top-level claim, or a dotted path into nested claims (`realm_access.roles`) when no claim has that exact name. */
function claim(payload: JWTPayload, name: string): unknown {
  if (name in payload) return payload[name];
  let value: unknown = payload;
  for (const part of name.split('.')) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}
