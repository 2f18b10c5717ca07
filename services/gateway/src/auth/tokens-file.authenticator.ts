import { UnauthorizedException } from '@nestjs/common';
import { ConfigError } from '@urumi/runtime';
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Authenticator } from './authenticator';
import { Principal, ROLES, Role } from './principal';

const MIN_TOKEN_LENGTH = 16;
const MAX_NAME_LENGTH = 128;

interface TokenEntry {
  readonly digest: Buffer;
  readonly principal: Principal;
}

/**
 * Users from a JSON file of `{name, role, token}`. Only SHA-256 digests of the tokens are kept, and a
 * presented token is compared with every digest in constant time, so neither the answer time nor an error
 * tells how much of a guess was right.
 */
export class TokensFileAuthenticator extends Authenticator {
  private constructor(private readonly entries: readonly TokenEntry[]) {
    super();
  }

  /** Reads and validates the file; fails with a ConfigError naming the file and the entry at fault. */
  static async load(file: string): Promise<TokensFileAuthenticator> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new ConfigError(
        `cannot read the tokens file ${file}: ${code === 'ENOENT' ? 'it does not exist' : String(code)}`,
      );
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      // The parser's own message quotes the file's text, which holds tokens: report only where it broke.
      const position = /position (\d+)/.exec(String(error))?.[1];
      throw new ConfigError(`the tokens file ${file} is not valid JSON${position ? ` (at position ${position})` : ''}`);
    }
    return TokensFileAuthenticator.fromJson(parsed, `the tokens file ${file}`);
  }

  static fromJson(value: unknown, source = 'the tokens file'): TokensFileAuthenticator {
    if (!Array.isArray(value) || value.length === 0) {
      throw new ConfigError(`${source} must be a non-empty JSON array of {"name", "role", "token"}`);
    }
    const seen = new Set<string>();
    const entries = value.map((item: unknown, index): TokenEntry => {
      const entry = parseEntry(item, `${source}, entry ${index + 1}`);
      const hex = entry.digest.toString('hex');
      if (seen.has(hex))
        throw new ConfigError(
          `${source}, entry ${index + 1} (${entry.principal.name}): its token is used by another entry`,
        );
      seen.add(hex);
      return entry;
    });
    return new TokensFileAuthenticator(entries);
  }

  async authenticate(token: string): Promise<Principal> {
    const digest = sha256(token);
    let found: Principal | undefined;
    // No early exit: every entry is compared, whichever matches.
    for (const entry of this.entries) {
      if (timingSafeEqual(entry.digest, digest)) found ??= entry.principal;
    }
    if (!found) throw new UnauthorizedException('invalid bearer token');
    return found;
  }
}

function parseEntry(item: unknown, where: string): TokenEntry {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) {
    throw new ConfigError(`${where} must be an object with "name", "role" and "token"`);
  }
  const { name, role, token } = item as Record<string, unknown>;
  if (typeof name !== 'string' || !name.trim() || name.length > MAX_NAME_LENGTH || /\p{Cc}/u.test(name)) {
    throw new ConfigError(
      `${where}: "name" must be a non-empty string of at most ${MAX_NAME_LENGTH} printable characters`,
    );
  }
  if (typeof role !== 'string' || !(ROLES as readonly string[]).includes(role)) {
    throw new ConfigError(`${where} (${name}): "role" must be one of ${ROLES.join(', ')}`);
  }
  if (typeof token !== 'string' || token.length < MIN_TOKEN_LENGTH || /\s/.test(token)) {
    throw new ConfigError(
      `${where} (${name}): "token" must be a string of at least ${MIN_TOKEN_LENGTH} characters without spaces`,
    );
  }
  return { digest: sha256(token), principal: { name, role: role as Role } };
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
