import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** The repository root: this file lives in deploy/sandbox/src. */
export const repoRoot = resolve(__dirname, '../../..');

/** Built binaries live outside the repository, keyed by version, so clones and CI runs share them. */
export function cacheRoot(): string {
  const base =
    process.env['URUMI_CACHE_DIR'] ?? join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'urumi');
  return join(base, 'sandbox');
}

/** State of the developer sandbox; tests use a sibling under it so the two never collide. */
export const defaultStateDir = join(repoRoot, '.sandbox');
export const testStateDir = join(repoRoot, '.sandbox', 'test');
