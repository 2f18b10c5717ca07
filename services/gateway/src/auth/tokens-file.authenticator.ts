import { Logger, OnModuleDestroy, UnauthorizedException } from '@nestjs/common';
import { ConfigError } from '@urumi/runtime';
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { Authenticator } from './authenticator';
import { Principal, ROLES, Role } from './principal';

const MIN_TOKEN_LENGTH = 16;
const MAX_NAME_LENGTH = 128;
/** How often the file is checked for changes: a removed user loses access within this long, without a restart. */
export const TOKENS_FILE_POLL_MS = 1_000;

interface TokenEntry {
  readonly digest: Buffer;
  readonly principal: Principal;
}

/**
 * Users from a JSON file of `{name, role, token}`. Only SHA-256 digests of the tokens are kept, and a
 * presented token is compared with every digest in constant time, so neither the answer time nor an error
 * tells how much of a guess was right. A loaded file is watched: an edit takes effect (and revokes removed
 * tokens) within TOKENS_FILE_POLL_MS; an edit that does not validate is logged and the previous users stay.
 */
export class TokensFileAuthenticator extends Authenticator implements OnModuleDestroy {
  private readonly logger = new Logger(TokensFileAuthenticator.name);
  private readonly listeners = new Set<() => void>();
  private poll?: NodeJS.Timeout;
  /** The file's size and modification time when it was last read. */
  private version = '';

  private constructor(private entries: readonly TokenEntry[]) {
    super();
  }

  /** Reads and validates the file, then watches it; fails with a ConfigError naming the file and the entry at fault. */
  static async load(file: string): Promise<TokensFileAuthenticator> {
    // Before reading: a change made while it is read is seen by the next check. A missing file fails below.
    const version = await versionOf(file).catch(() => '');
    const authenticator = new TokensFileAuthenticator(await readEntries(file));
    authenticator.watch(file, version);
    return authenticator;
  }

  static fromJson(value: unknown, source = 'the tokens file'): TokensFileAuthenticator {
    return new TokensFileAuthenticator(parseEntries(value, source));
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

  override onCredentialsChanged(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onModuleDestroy(): void {
    clearInterval(this.poll);
  }

  private watch(file: string, version: string): void {
    this.version = version;
    let checking = false;
    // Polling, not fs.watch: a stat follows the symlinks a Kubernetes Secret volume swaps.
    this.poll = setInterval(() => {
      if (checking) return;
      checking = true;
      void this.reloadIfChanged(file).finally(() => (checking = false));
    }, TOKENS_FILE_POLL_MS);
    this.poll.unref();
  }

  private async reloadIfChanged(file: string): Promise<void> {
    const version = await versionOf(file).catch(() => this.version);
    if (version === this.version) return;
    this.version = version;
    try {
      this.entries = await readEntries(file);
    } catch (error) {
      this.logger.error({ msg: 'Kept the previous users: the changed tokens file is not valid', error: String(error) });
      return;
    }
    this.logger.log({ msg: 'Reloaded the tokens file', users: this.entries.length });
    for (const listener of this.listeners) listener();
  }
}

async function versionOf(file: string): Promise<string> {
  const { size, mtimeMs } = await stat(file);
  return `${size}:${mtimeMs}`;
}

async function readEntries(file: string): Promise<readonly TokenEntry[]> {
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
  return parseEntries(parsed, `the tokens file ${file}`);
}

function parseEntries(value: unknown, source: string): readonly TokenEntry[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new ConfigError(`${source} must be a non-empty JSON array of {"name", "role", "token"}`);
  }
  const seen = new Set<string>();
  return value.map((item: unknown, index): TokenEntry => {
    const entry = parseEntry(item, `${source}, entry ${index + 1}`);
    const hex = entry.digest.toString('hex');
    if (seen.has(hex))
      throw new ConfigError(
        `${source}, entry ${index + 1} (${entry.principal.name}): its token is used by another entry`,
      );
    seen.add(hex);
    return entry;
  });
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
