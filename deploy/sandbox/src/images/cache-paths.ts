import { dirname, join } from 'node:path';
import { cacheRoot } from '../paths';

/** ~/.cache/urumi (or $URUMI_CACHE_DIR): the sandbox's binaries sit in its `sandbox` folder, images beside them. */
function urumiCache(): string {
  return dirname(cacheRoot());
}

/** Debian rootfs tarballs, Node downloads and the pause binary, keyed by what made them. */
export function imagesCacheDir(): string {
  return join(urumiCache(), 'images');
}

/** BuildKit's root (its build cache), so a second build of an unchanged image is fast. */
export function buildkitCacheDir(): string {
  return join(urumiCache(), 'buildkit');
}

/** Where a long-lived Registry keeps pushed layers between runs (what the lead's sandbox passes as storageDir). */
export function registryCacheDir(): string {
  return join(urumiCache(), 'registry');
}
