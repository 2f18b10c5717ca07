import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { exec } from '../exec';
import { log } from '../log';
import { repoRoot } from '../paths';
import { imagesCacheDir } from './cache-paths';

/** The pause program's Go module, kept in the repository. */
export const PAUSE_SOURCE_DIR = join(repoRoot, 'deploy/images/base/pause');

/** Builds the pause program (static, standard library only) into a folder keyed by its sources; returns the folder. */
export async function ensurePauseBinary(): Promise<string> {
  const goVersion = (await exec('go', ['env', 'GOVERSION'])).stdout.trim();
  const names = (await readdir(PAUSE_SOURCE_DIR)).filter((n) => n.endsWith('.go') || n === 'go.mod').sort();
  const hash = createHash('sha256').update(goVersion);
  for (const name of names) hash.update(name).update(await readFile(join(PAUSE_SOURCE_DIR, name)));
  const dir = join(imagesCacheDir(), `pause-${hash.digest('hex').slice(0, 12)}`);
  if (existsSync(join(dir, 'pause'))) return dir;
  log.step('building the pause program (deploy/images/base/pause)');
  const partial = `${dir}.partial`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true });
  await exec('go', ['build', '-trimpath', '-ldflags=-s -w', '-o', join(partial, 'pause'), '.'], {
    cwd: PAUSE_SOURCE_DIR,
    env: { ...process.env, CGO_ENABLED: '0', GOTOOLCHAIN: 'local', GOFLAGS: '-buildvcs=false' },
  });
  await rm(dir, { recursive: true, force: true });
  await rename(partial, dir);
  return dir;
}
