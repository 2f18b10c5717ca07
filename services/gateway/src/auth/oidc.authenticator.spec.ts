import { ServiceUnavailableException, UnauthorizedException } from '@nestjs/common';
import { ConfigError } from '@urumi/runtime';
import { CryptoKey, exportJWK, generateKeyPair, generateSecret, JWTPayload, SignJWT } from 'jose';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { OidcAlgorithm, OidcAuthConfig } from './auth.config';
import { OidcAuthenticator } from './oidc.authenticator';

jest.setTimeout(20_000);

interface SigningKey {
  readonly kid: string;
  readonly alg: string;
  readonly key: CryptoKey | Uint8Array;
}

/** A stand-in identity provider on loopback: discovery document and JWKS. */
async function startIssuer(publicJwks: object[]): Promise<{ server: Server; issuer: string }> {
  const server = createServer((req, res) => {
    const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    if (req.url === '/.well-known/openid-configuration') {
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks.json` }));
    } else if (req.url === '/jwks.json') {
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ keys: publicJwks }));
    } else {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, issuer: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe(OidcAuthenticator.name, () => {
  let server: Server;
  let issuer: string;
  let rsa: SigningKey;
  let ec: SigningKey;
  let stranger: SigningKey;
  let config: OidcAuthConfig;
  let sut: OidcAuthenticator;

  beforeAll(async () => {
    const rsaPair = await generateKeyPair('RS256');
    const ecPair = await generateKeyPair('ES256');
    rsa = { kid: 'rsa-1', alg: 'RS256', key: rsaPair.privateKey };
    ec = { kid: 'ec-1', alg: 'ES256', key: ecPair.privateKey };
    // Same kid as the published RSA key, but a key the issuer never published.
    stranger = { kid: 'rsa-1', alg: 'RS256', key: (await generateKeyPair('RS256')).privateKey };
    ({ server, issuer } = await startIssuer([
      { ...(await exportJWK(rsaPair.publicKey)), kid: rsa.kid, alg: rsa.alg, use: 'sig' },
      { ...(await exportJWK(ecPair.publicKey)), kid: ec.kid, alg: ec.alg, use: 'sig' },
    ]));
  });

  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
  });

  beforeEach(() => {
    config = {
      mode: 'oidc',
      issuer,
      audience: 'urumi-api',
      jwksUrl: `${issuer}/jwks.json`,
      algorithms: ['RS256', 'ES256'],
      userClaim: 'sub',
      groupsClaim: 'groups',
      adminGroup: 'urumi-admins',
    };
    sut = new OidcAuthenticator(config);
  });

  function sign(
    claims: JWTPayload,
    options: { key?: SigningKey; iss?: string; aud?: string; exp?: number | string | null } = {},
  ) {
    const { key = rsa, iss = issuer, aud = 'urumi-api', exp = '5m' } = options;
    const jwt = new SignJWT(claims)
      .setProtectedHeader({ alg: key.alg, kid: key.kid })
      .setIssuer(iss)
      .setAudience(aud)
      .setIssuedAt();
    if (exp !== null) jwt.setExpirationTime(exp);
    return jwt.sign(key.key);
  }

  async function refusal(token: string | Promise<string>, authenticator = sut): Promise<Error> {
    try {
      await authenticator.authenticate(await token);
    } catch (error) {
      return error as Error;
    }
    throw new Error('expected a refusal');
  }

  it('accepts a valid RS256 token and names the user from `sub`', async () => {
    await expect(sut.authenticate(await sign({ sub: 'alice', groups: ['staff'] }))).resolves.toEqual({
      name: 'alice',
      role: 'tenant',
    });
  });

  it('accepts a valid ES256 token', async () => {
    await expect(sut.authenticate(await sign({ sub: 'bob' }, { key: ec }))).resolves.toEqual({
      name: 'bob',
      role: 'tenant',
    });
  });

  it('makes members of the admin group admins', async () => {
    await expect(sut.authenticate(await sign({ sub: 'ada', groups: ['staff', 'urumi-admins'] }))).resolves.toEqual({
      name: 'ada',
      role: 'admin',
    });
  });

  it('reads the user and groups from the configured claims, nested ones too', async () => {
    sut = new OidcAuthenticator({
      ...config,
      userClaim: 'preferred_username',
      groupsClaim: 'realm_access.roles',
      adminGroup: 'platform-admin',
    });
    const token = await sign({ sub: 'f3a1', preferred_username: 'ada', realm_access: { roles: ['platform-admin'] } });

    await expect(sut.authenticate(token)).resolves.toEqual({ name: 'ada', role: 'admin' });
  });

  it('finds the JWKS through OIDC discovery when no JWKS URL is configured', async () => {
    sut = new OidcAuthenticator({ ...config, jwksUrl: undefined });

    await expect(sut.authenticate(await sign({ sub: 'alice' }))).resolves.toEqual({ name: 'alice', role: 'tenant' });
  });

  it.each<[string, () => Promise<string>, RegExp]>([
    [
      'another issuer',
      () => sign({ sub: 'alice' }, { iss: 'https://evil.example' }),
      /^bearer token was not issued by http:\/\/127\.0\.0\.1/,
    ],
    [
      'another audience',
      () => sign({ sub: 'alice' }, { aud: 'someone-else' }),
      /^bearer token is not meant for urumi-api$/,
    ],
    [
      'an expired token',
      () => sign({ sub: 'alice' }, { exp: Math.floor(Date.now() / 1000) - 120 }),
      /^bearer token has expired$/,
    ],
    ['a token without exp', () => sign({ sub: 'alice' }, { exp: null }), /^bearer token has no "exp" claim$/],
    [
      'a key the issuer does not publish',
      () => sign({ sub: 'alice' }, { key: stranger }),
      /^bearer token signature is invalid$/,
    ],
    [
      'a token without the user claim',
      () => sign({ groups: ['urumi-admins'] }),
      /^bearer token has no "sub" claim naming the user$/,
    ],
    ['garbage', async () => 'not.a.jwt', /^bearer token is not a valid signed JWT$/],
  ])('refuses %s with 401', async (_case, token, message) => {
    const error = await refusal(token());

    expect(error).toBeInstanceOf(UnauthorizedException);
    expect(error.message).toMatch(message);
  });

  it('accepts a token that expired within the clock tolerance', async () => {
    const token = await sign({ sub: 'alice' }, { exp: Math.floor(Date.now() / 1000) - 5 });

    await expect(sut.authenticate(token)).resolves.toEqual({ name: 'alice', role: 'tenant' });
  });

  it('refuses a symmetric HS256 token, even one whose secret an attacker knows', async () => {
    const secret = await generateSecret('HS256');
    const token = await sign(
      { sub: 'ada', groups: ['urumi-admins'] },
      { key: { kid: rsa.kid, alg: 'HS256', key: secret } },
    );

    const error = await refusal(token);

    expect(error).toBeInstanceOf(UnauthorizedException);
    expect(error.message).toBe('bearer token is signed with an algorithm that is not allowed (allowed: RS256, ES256)');
  });

  it('refuses an algorithm the issuer publishes but the configuration does not allow', async () => {
    sut = new OidcAuthenticator({ ...config, algorithms: ['RS256'] });

    const error = await refusal(sign({ sub: 'bob' }, { key: ec }));

    expect(error).toBeInstanceOf(UnauthorizedException);
    expect(error.message).toMatch(/algorithm that is not allowed/);
  });

  it('answers 503, not 401, when the JWKS cannot be fetched', async () => {
    sut = new OidcAuthenticator({ ...config, jwksUrl: `${issuer}/missing.json` });

    const error = await refusal(sign({ sub: 'alice' }));

    expect(error).toBeInstanceOf(ServiceUnavailableException);
  });

  it('refuses a configuration with a symmetric algorithm', () => {
    expect(() => new OidcAuthenticator({ ...config, algorithms: ['HS256' as OidcAlgorithm] })).toThrow(ConfigError);
  });
});
