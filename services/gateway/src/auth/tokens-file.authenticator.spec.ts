import { UnauthorizedException } from '@nestjs/common';
import { ConfigError } from '@urumi/runtime';
import { eventually, scratchFile } from '@urumi/sandbox';
import crypto from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { TokensFileAuthenticator } from './tokens-file.authenticator';

const admin = { name: 'ada', role: 'admin', token: 'admin-secret-0123456789abcdef' } as const;
const alice = { name: 'alice', role: 'tenant', token: 'alice-secret-0123456789abcdef' } as const;
const bob = { name: 'bob', role: 'tenant', token: 'bob-secret-0123456789abcdef' } as const;

function tokensFile(content: unknown): string {
  return scratchFile('tokens.json', content);
}

async function refusal(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a refusal');
}

describe(TokensFileAuthenticator.name, () => {
  let sut: TokensFileAuthenticator;

  beforeEach(async () => {
    sut = await TokensFileAuthenticator.load(tokensFile([admin, alice, bob]));
  });

  afterEach(() => {
    sut.onModuleDestroy();
    jest.restoreAllMocks();
  });

  it('names the user of a known token, with its role', async () => {
    await expect(sut.authenticate(admin.token)).resolves.toEqual({ name: 'ada', role: 'admin' });
    await expect(sut.authenticate(alice.token)).resolves.toEqual({ name: 'alice', role: 'tenant' });
    await expect(sut.authenticate(bob.token)).resolves.toEqual({ name: 'bob', role: 'tenant' });
  });

  it.each([
    ['an unknown token', 'not-a-known-token-at-all-0123'],
    ['a prefix of a token', alice.token.slice(0, -1)],
    ['a token with one more character', `${alice.token}x`],
    ['a token in another case', alice.token.toUpperCase()],
    ['an empty token', ''],
  ])('refuses %s with 401, without echoing it', async (_case, token) => {
    const error = await refusal(sut.authenticate(token));

    expect(error).toBeInstanceOf(UnauthorizedException);
    expect(error.message).toBe('invalid bearer token');
  });

  it('re-reads the file when it changes: a removed user is refused, an added one accepted, listeners told', async () => {
    const file = tokensFile([admin, alice]);
    sut.onModuleDestroy();
    sut = await TokensFileAuthenticator.load(file);
    let changes = 0;
    sut.onCredentialsChanged(() => changes++);

    writeFileSync(file, JSON.stringify([admin, bob]));

    await eventually(
      () => expect(sut.authenticate(bob.token)).resolves.toEqual({ name: 'bob', role: 'tenant' }),
      5_000,
    );
    expect(await refusal(sut.authenticate(alice.token))).toBeInstanceOf(UnauthorizedException);
    expect(changes).toBe(1);
  });

  it('compares a token with every entry, by equal-length digests, whether or not it matches', async () => {
    const compare = jest.spyOn(crypto, 'timingSafeEqual');

    for (const token of [admin.token, bob.token, 'x', 'y'.repeat(500)]) {
      compare.mockClear();
      await sut.authenticate(token).catch(() => undefined);

      expect(compare).toHaveBeenCalledTimes(3);
      for (const [a, b] of compare.mock.calls) {
        expect([(a as Buffer).length, (b as Buffer).length]).toEqual([32, 32]);
      }
    }
  });

  describe('load', () => {
    it('fails when the file is missing, naming it', async () => {
      const error = await refusal(TokensFileAuthenticator.load('/nonexistent/tokens.json'));

      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).toBe('cannot read the tokens file /nonexistent/tokens.json: it does not exist');
    });

    it('fails on a file that is not JSON, without quoting its content', async () => {
      const file = tokensFile(`[{"name": "ada", "role": "admin", "token": "${admin.token}"`);

      const error = await refusal(TokensFileAuthenticator.load(file));

      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).toMatch(new RegExp(`^the tokens file ${file} is not valid JSON`));
      expect(error.message).not.toContain(admin.token);
    });

    it.each([
      ['an object', { users: [admin] }, /must be a non-empty JSON array/],
      ['an empty array', [], /must be a non-empty JSON array/],
      ['an entry that is not an object', [admin, 'ada'], /entry 2 must be an object/],
      ['a missing name', [{ role: 'admin', token: admin.token }], /entry 1: "name" must be a non-empty string/],
      ['an unknown role', [{ ...alice, role: 'root' }], /entry 1 \(alice\): "role" must be one of admin, tenant/],
      ['a short token', [{ ...alice, token: 'short' }], /entry 1 \(alice\): "token" must be a string of at least 16/],
      ['a token with spaces', [{ ...alice, token: 'has spaces in it 0123456789' }], /"token" must be a string/],
      [
        'a token used twice',
        [alice, { ...bob, token: alice.token }],
        /entry 2 \(bob\): its token is used by another entry/,
      ],
    ])('refuses %s with a clear error that names no token', async (_case, content, message) => {
      const error = await refusal(TokensFileAuthenticator.load(tokensFile(content)));

      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).toMatch(message);
      for (const user of [admin, alice, bob]) expect(error.message).not.toContain(user.token);
    });
  });
});
