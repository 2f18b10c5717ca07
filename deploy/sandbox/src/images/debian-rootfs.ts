import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { FileLock } from '../file-lock';
import { formatDuration, log, withHeartbeat } from '../log';
import { imagesCacheDir } from './cache-paths';
import { runLogged } from './run-logged';

/** What goes into the Debian base: a minbase bootstrap of `suite` plus `packages`, from Debian's own mirrors. */
export interface DebianRootfsSpec {
  readonly suite: string;
  readonly packages: readonly string[];
}

export interface DebianRootfs {
  /** The folder holding rootfs.tar (the Debian image's build context). */
  readonly dir: string;
  readonly tarball: string;
  /** How long mmdebstrap took; 0 when the cached tarball was used. */
  readonly buildMs: number;
}

const MIRROR = 'http://deb.debian.org/debian';
const SECURITY_MIRROR = 'http://deb.debian.org/debian-security';

/** As Debian's own slim images: no manuals, docs (but their copyright files) or translations. */
const DPKG_OPTIONS = [
  'path-exclude=/usr/share/man/*',
  'path-exclude=/usr/share/info/*',
  'path-exclude=/usr/share/doc/*',
  'path-include=/usr/share/doc/*/copyright',
  'path-exclude=/usr/share/locale/*',
];

/** mmdebstrap's own merged-/usr setup, as Debian's images have it, instead of the usrmerge package (and its Perl). */
const MERGED_USR_HOOK = '/usr/share/mmdebstrap/hooks/merged-usr';

function recipe(spec: DebianRootfsSpec): Record<string, unknown> {
  return {
    suite: spec.suite,
    variant: 'minbase',
    packages: [...spec.packages].sort(),
    sources: sources(spec.suite),
    dpkg: DPKG_OPTIONS,
    hooks: [MERGED_USR_HOOK],
  };
}

function sources(suite: string): string[] {
  return [
    `deb ${MIRROR} ${suite} main`,
    `deb ${MIRROR} ${suite}-updates main`,
    `deb ${SECURITY_MIRROR} ${suite}-security main`,
  ];
}

/** The rootfs tarball for `spec`, bootstrapped by mmdebstrap once per package list and cached. */
export async function ensureDebianRootfs(spec: DebianRootfsSpec): Promise<DebianRootfs> {
  const key = createHash('sha256')
    .update(JSON.stringify(recipe(spec)))
    .digest('hex')
    .slice(0, 12);
  const dir = join(imagesCacheDir(), `debian-${spec.suite}-${key}`);
  const tarball = join(dir, 'rootfs.tar');
  if (existsSync(tarball)) return { dir, tarball, buildMs: 0 };
  return FileLock.around(`${dir}.lock`, `bootstrapping Debian ${spec.suite}`, log.step, async () => {
    if (existsSync(tarball)) return { dir, tarball, buildMs: 0 };
    return bootstrap(spec, dir, tarball);
  });
}

async function bootstrap(spec: DebianRootfsSpec, dir: string, tarball: string): Promise<DebianRootfs> {
  const started = Date.now();
  log.step(
    `bootstrapping a Debian ${spec.suite} rootfs (minbase + ${spec.packages.join(', ')}) — once per package list`,
  );
  await mkdir(dir, { recursive: true });
  const partial = `${tarball}.partial`;
  await rm(partial, { force: true });
  // A private mount namespace: the /proc, /sys and /dev mounts of the chroot vanish with it, even after a crash.
  const args = [
    '--mount',
    '--propagation',
    'private',
    '--',
    'mmdebstrap',
    '--variant=minbase',
    '--mode=root',
    '--format=tar',
    `--hook-dir=${MERGED_USR_HOOK}`,
    `--include=${spec.packages.join(',')}`,
    ...DPKG_OPTIONS.map((option) => `--dpkgopt=${option}`),
    spec.suite,
    partial,
    ...sources(spec.suite),
  ];
  await withHeartbeat(
    `  running mmdebstrap (log: ${join(dir, 'mmdebstrap.log')})`,
    runLogged('unshare', args, join(dir, 'mmdebstrap.log')),
  );
  await rename(partial, tarball);
  const buildMs = Date.now() - started;
  const mb = Math.round((await stat(tarball)).size / 1e6);
  log.step(`  Debian ${spec.suite} rootfs: ${mb} MB in ${formatDuration(buildMs)}`);
  return { dir, tarball, buildMs };
}
