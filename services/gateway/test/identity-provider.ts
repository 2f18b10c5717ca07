import { CryptoKey, exportJWK, generateKeyPair, JWTPayload, SignJWT } from 'jose';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';

export const AUDIENCE = 'urumi-api';

/** A stand-in OIDC identity provider on loopback: one RS256 key, its JWKS, and tokens signed with it. */
export interface IdentityProvider {
  readonly issuer: string;
  readonly jwksUrl: string;
  /** The gateway's environment for trusting this provider (no clock tolerance: expiries are exact). */
  readonly gatewayEnv: Record<string, string>;
  /** A token for `sub` that expires `expiresInSeconds` from now; `meantFor` signs one for another issuer or audience. */
  sign(
    claims: JWTPayload & { sub: string },
    expiresInSeconds?: number,
    meantFor?: { issuer?: string; audience?: string },
  ): Promise<string>;
  /** Until `release()`, key requests wait (authentication is in flight meanwhile); `requested` says one came. */
  holdKeys(): { requested: Promise<void>; release(): void };
  close(): Promise<void>;
}

export async function startIdentityProvider(): Promise<IdentityProvider> {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'test-1', alg: 'RS256', use: 'sig' };
  let held: Promise<void> | undefined;
  let onRequest = () => undefined as void;
  const server: Server = createServer((req, res) => {
    onRequest();
    void (held ?? Promise.resolve()).then(() => {
      if (req.url === '/jwks.json') {
        res.setHeader('Content-Type', 'application/json');
        res.end(JSON.stringify({ keys: [jwk] }));
      } else {
        res.statusCode = 404;
        res.end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const jwksUrl = `${issuer}/jwks.json`;
  return {
    issuer,
    jwksUrl,
    gatewayEnv: {
      AUTH_MODE: 'oidc',
      OIDC_ISSUER: issuer,
      OIDC_AUDIENCE: AUDIENCE,
      OIDC_JWKS_URL: jwksUrl,
      OIDC_ALGORITHMS: 'RS256',
      OIDC_CLOCK_TOLERANCE_SECONDS: '0',
    },
    sign: (claims, expiresInSeconds = 300, meantFor = {}) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', kid: jwk.kid })
        .setIssuer(meantFor.issuer ?? issuer)
        .setAudience(meantFor.audience ?? AUDIENCE)
        .setIssuedAt()
        .setExpirationTime(Math.floor(Date.now() / 1000) + expiresInSeconds)
        .sign(privateKey as CryptoKey),
    holdKeys: () => {
      let release!: () => void;
      held = new Promise<void>((resolve) => (release = resolve));
      const requested = new Promise<void>((resolve) => (onRequest = resolve));
      return {
        requested,
        release: () => {
          held = undefined;
          onRequest = () => undefined;
          release();
        },
      };
    },
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
