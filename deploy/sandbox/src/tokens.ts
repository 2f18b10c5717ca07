import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';

export interface SeededUser {
  readonly name: string;
  readonly role: 'admin' | 'tenant';
  readonly token: string;
}

const SEEDED = [
  { name: 'admin', role: 'admin' },
  { name: 'alice', role: 'tenant' },
  { name: 'bob', role: 'tenant' },
] as const;

/** The local users (by default an admin and two tenants) and their bearer tokens: made once, then kept. */
export async function ensureTokens(file: string, given?: readonly SeededUser[]): Promise<readonly SeededUser[]> {
  if (!given && existsSync(file)) return JSON.parse(await readFile(file, 'utf8')) as SeededUser[];
  const users = given ?? SEEDED.map((user) => ({ ...user, token: randomBytes(24).toString('base64url') }));
  await writeFile(file, JSON.stringify(users, null, 2) + '\n', { mode: 0o600 });
  return users;
}
