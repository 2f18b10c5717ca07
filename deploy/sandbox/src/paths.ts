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

/** State of the developer sandbox; each test run has its own folder under .sandbox/test. */
export const defaultStateDir = join(repoRoot, '.sandbox');
export const testStateRoot = join(repoRoot, '.sandbox', 'test');
