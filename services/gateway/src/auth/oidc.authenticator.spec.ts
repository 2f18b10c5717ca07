import { ServiceUnavailableException, UnauthorizedException } from '@nestjs/common';
import { ConfigError } from '@urumi/runtime';
import { eventually } from '@urumi/sandbox';
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

/** Who a valid token names: its expiry rides along for live sessions. */
function principal(name: string, role: 'admin' | 'tenant', displayName = name) {
  return { name, role, displayName, expiresAt: expect.any(Date) as Date };
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
    await expect(sut.authenticate(await sign({ sub: 'alice', groups: ['staff'] }))).resolves.toEqual(
      principal('alice', 'tenant'),
    );
  });

  it('accepts a valid ES256 token', async () => {
    await expect(sut.authenticate(await sign({ sub: 'bob' }, { key: ec }))).resolves.toEqual(
      principal('bob', 'tenant'),
    );
  });

  it('makes members of the admin group admins', async () => {
    await expect(sut.authenticate(await sign({ sub: 'ada', groups: ['staff', 'urumi-admins'] }))).resolves.toEqual(
      principal('ada', 'admin'),
    );
  });

  it('reads the user and groups from the configured claims, nested ones too', async () => {
    sut = new OidcAuthenticator({
      ...config,
      userClaim: 'preferred_username',
      groupsClaim: 'realm_access.roles',
      adminGroup: 'platform-admin',
    });
    const token = await sign({ sub: 'f3a1', preferred_username: 'ada', realm_access: { roles: ['platform-admin'] } });

    await expect(sut.authenticate(token)).resolves.toEqual(principal('ada', 'admin'));
  });

  it("follows the issuer's key rotation: its next key is accepted, its withdrawn key refused once the keys are re-read", async () => {
    const [current, next] = await Promise.all([generateKeyPair('RS256'), generateKeyPair('RS256')]);
    const currentKey = { kid: '2026-11', alg: 'RS256', key: current.privateKey };
    const nextKey = { kid: '2026-12', alg: 'RS256', key: next.privateKey };
    const published = [{ ...(await exportJWK(current.publicKey)), kid: currentKey.kid, alg: 'RS256', use: 'sig' }];
    const rotating = await startIssuer(published);
    try {
      const iss = rotating.issuer;
      sut = new OidcAuthenticator({ ...config, issuer: iss, jwksUrl: `${iss}/jwks.json`, jwksCacheSeconds: 1 });
      await expect(sut.authenticate(await sign({ sub: 'alice' }, { key: currentKey, iss }))).resolves.toEqual(
        principal('alice', 'tenant'),
      );

      published.push({ ...(await exportJWK(next.publicKey)), kid: nextKey.kid, alg: 'RS256', use: 'sig' });
      await eventually(async () =>
        expect(await sut.authenticate(await sign({ sub: 'alice' }, { key: nextKey, iss }))).toEqual(
          principal('alice', 'tenant'),
        ),
      );
      published.splice(0, 1);

      await eventually(async () =>
        expect(await refusal(sign({ sub: 'alice' }, { key: currentKey, iss }))).toBeInstanceOf(UnauthorizedException),
      );
      await expect(sut.authenticate(await sign({ sub: 'alice' }, { key: nextKey, iss }))).resolves.toEqual(
        principal('alice', 'tenant'),
      );
    } finally {
      await new Promise((resolve) => rotating.server.close(resolve));
    }
  });

  it('finds the JWKS through OIDC discovery when no JWKS URL is configured', async () => {
    sut = new OidcAuthenticator({ ...config, jwksUrl: undefined });

    await expect(sut.authenticate(await sign({ sub: 'alice' }))).resolves.toEqual(principal('alice', 'tenant'));
  });

  it.each<[string, () => Promise<string>, RegExp]>([
    [
      'another issuer',
      () => sign({ sub: 'alice' }, { iss: 'https://evil.example' }),
      /^bearer token is not valid for this API$/,
    ],
    [
      'another audience',
      () => sign({ sub: 'alice' }, { aud: 'someone-else' }),
      /^bearer token is not valid for this API$/,
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
      /^bearer token has no usable "sub" claim naming the user$/,
    ],
    ['garbage', async () => 'not.a.jwt', /^bearer token is not a valid signed JWT$/],
  ])('refuses %s with 401', async (_case, token, message) => {
    const error = await refusal(token());

    expect(error).toBeInstanceOf(UnauthorizedException);
    expect(error.message).toMatch(message);
  });

  it('accepts a token that expired within the clock tolerance', async () => {
    const token = await sign({ sub: 'alice' }, { exp: Math.floor(Date.now() / 1000) - 5 });

    await expect(sut.authenticate(token)).resolves.toEqual(principal('alice', 'tenant'));
  });

  it('refuses a symmetric HS256 token, even one whose secret an attacker knows', async () => {
    const secret = await generateSecret('HS256');
    const token = await sign(
      { sub: 'ada', groups: ['urumi-admins'] },
      { key: { kid: rsa.kid, alg: 'HS256', key: secret } },
    );

    const error = await refusal(token);

    expect(error).toBeInstanceOf(UnauthorizedException);
    expect(error.message).toBe('bearer token is not valid for this API');
  });

  it('refuses an algorithm the issuer publishes but the configuration does not allow', async () => {
    sut = new OidcAuthenticator({ ...config, algorithms: ['RS256'] });

    const error = await refusal(sign({ sub: 'bob' }, { key: ec }));

    expect(error).toBeInstanceOf(UnauthorizedException);
    expect(error.message).toBe('bearer token is not valid for this API');
  });

  it('owns stores by the immutable `sub` and shows `preferred_username` separately', async () => {
    const renamed = await sign({ sub: '4f1c2a9e-77d0-4c5b-9a51-0b7e3c1d2f60', preferred_username: 'alice' });

    await expect(sut.authenticate(renamed)).resolves.toEqual(
      principal('4f1c2a9e-77d0-4c5b-9a51-0b7e3c1d2f60', 'tenant', 'alice'),
    );
  });

  it('bounds the display name: no control characters, at most 128 characters', async () => {
    const token = await sign({ sub: 'alice', preferred_username: `a\u0000li\u202ece${'x'.repeat(300)}` });

    const { displayName } = await sut.authenticate(token);

    expect(displayName).toBe(`alice${'x'.repeat(123)}`);
  });

  it.each([
    ['too long', 'a'.repeat(129)],
    ['with spaces', 'alice smith'],
    ['with control characters', 'alice\nbob'],
    ['empty', ''],
  ])('refuses a user claim that is %s with a generic 401', async (_case, sub) => {
    const error = await refusal(sign({ sub }));

    expect(error).toBeInstanceOf(UnauthorizedException);
    expect(error.message).toBe('bearer token has no usable "sub" claim naming the user');
  });

  it('expires the principal with the token, the clock tolerance included', async () => {
    sut = new OidcAuthenticator({ ...config, clockToleranceSeconds: 7 });
    const exp = Math.floor(Date.now() / 1000) + 60;

    const { expiresAt } = await sut.authenticate(await sign({ sub: 'alice' }, { exp }));

    expect(expiresAt).toEqual(new Date((exp + 7) * 1000));
  });

  it('tells a refused token neither the issuer nor the audience it expected', async () => {
    const messages = await Promise.all(
      [sign({ sub: 'alice' }, { iss: 'https://evil.example' }), sign({ sub: 'alice' }, { aud: 'other' })].map(
        async (token) => (await refusal(token)).message,
      ),
    );

    for (const message of messages) {
      expect(message).not.toContain(issuer);
      expect(message).not.toContain('urumi-api');
    }
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
