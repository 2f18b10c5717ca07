import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Daemons } from '../daemon';
import { exec } from '../exec';
import { FileLock } from '../file-lock';
import { formatDuration, log, withHeartbeat } from '../log';
import { createCgroup, daemonInCgroup, ownCgroup, removeCgroups } from '../node/cgroups';
import { waitUntil } from '../probe';
import { binaryOf, Toolchain } from '../toolchain';
import { buildkitCacheDir, imagesCacheDir } from './cache-paths';
import { parseReference, RegistryClient } from './registry-client';
import { runLogged } from './run-logged';

export interface ImageBuilderOptions {
  /** Where its socket, config, pid file and logs live. */
  readonly stateDir: string;
  /** BuildKit's root: its build cache. One buildkitd at a time per root (buildkitd locks it). */
  readonly rootDir?: string;
  /** host:port of the plain-HTTP registry it pulls bases from and pushes to. */
  readonly registry: string;
  readonly toolchain: Toolchain;
  /**
   * A CA bundle RUN steps trust for downloads (npm ci), given to builds as the secret `ca-certificates`: what a
   * TLS-inspecting proxy needs. Defaults to the host's bundle when it exists; `null` passes none.
   */
  readonly caBundle?: string | null;
  /** The OCI runtime for RUN steps: Debian's runc. */
  readonly runc?: string;
}

export interface BuildRequest {
  /** A short label for progress lines and the log file name. */
  readonly name: string;
  readonly dockerfile: string;
  /** The build context folder. */
  readonly context: string;
  readonly target?: string;
  readonly buildArgs?: Readonly<Record<string, string>>;
  /** Stage or image name → a local folder that replaces it (`COPY --from=<name>`, `FROM <name>`). */
  readonly namedContexts?: Readonly<Record<string, string>>;
  /** The reference it is pushed as, on this builder's registry. */
  readonly image: string;
  /**
   * The context and named contexts never change in place (cache folders keyed by what made them): when the registry
   * already holds what these inputs last produced, the build is skipped (no context upload at all).
   */
  readonly immutableInputs?: boolean;
}

export interface BuiltImage {
  readonly image: string;
  /** The pushed manifest's digest. */
  readonly digest: string;
  readonly ms: number;
  /** True when the registry already held it and nothing was built. */
  readonly upToDate: boolean;
}

const DAEMON = 'buildkitd';
const HOST_CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';
/** RUN steps see the CA bundle here (BuildKit's default target for a secret of this id). */
export const CA_SECRET_ID = 'ca-certificates';
export const CA_SECRET_PATH = `/run/secrets/${CA_SECRET_ID}`;

interface CgroupRecord {
  readonly path: string;
  /** Folders made in the controllers' hierarchies. */
  readonly created: readonly string[];
}

/**
 * BuildKit's daemon with a runc worker (no containerd), in a private mount namespace (its overlay mounts never reach
 * the host's) and a cgroup below this process's (the containers of RUN steps too), plus `buildctl` builds that push
 * to the local registry.
 */
export class ImageBuilder {
  private readonly daemons: Daemons;
  private readonly dir: string;

  private rootLock: FileLock | undefined;

  constructor(private readonly options: ImageBuilderOptions) {
    this.daemons = new Daemons(options.stateDir);
    this.dir = join(options.stateDir, 'buildkit');
  }

  get rootDir(): string {
    return this.options.rootDir ?? buildkitCacheDir();
  }

  get registry(): string {
    return this.options.registry;
  }

  get socket(): string {
    return join(this.dir, 'buildkitd.sock');
  }

  get logFile(): string {
    return this.daemons.logFile(DAEMON);
  }

  /** The cgroup buildkitd and every RUN step's container live in: below this process's own, named by the state dir. */
  get cgroup(): string {
    const id = createHash('sha256').update(this.options.stateDir).digest('hex').slice(0, 8);
    return join(ownCgroup(), `urumi-buildkit-${id}`);
  }

  private get cgroupRecordFile(): string {
    return join(this.dir, 'cgroups.json');
  }

  private get caBundle(): string | undefined {
    if (this.options.caBundle === null) return undefined;
    const bundle = this.options.caBundle ?? HOST_CA_BUNDLE;
    return existsSync(bundle) ? bundle : undefined;
  }

  async start(): Promise<void> {
    let pid = this.daemons.pidOf(DAEMON);
    if (pid === undefined) {
      // One buildkitd per build cache (it locks its root): builders of concurrent sandboxes take turns.
      this.rootLock ??= await FileLock.acquire(`${this.rootDir}.lock`, 'using the BuildKit cache', log.step);
      // A socket path longer than sun_path (108 bytes) cannot be bound.
      if (Buffer.byteLength(this.socket) > 100) throw new Error(`the BuildKit socket path is too long: ${this.socket}`);
      await mkdir(this.dir, { recursive: true });
      await mkdir(this.rootDir, { recursive: true });
      await rm(this.socket, { force: true });
      const created = await createCgroup(join(this.cgroup, 'daemon'));
      const record: CgroupRecord = { path: this.cgroup, created };
      await writeFile(this.cgroupRecordFile, JSON.stringify(record));
      await writeFile(join(this.dir, 'buildkitd.toml'), this.config());
      const buildkitd = binaryOf(this.options.toolchain, DAEMON);
      // Joins its cgroup, then a private mount namespace for the snapshots it mounts, then becomes buildkitd.
      pid = await this.daemons.start(
        daemonInCgroup(
          DAEMON,
          join(this.cgroup, 'daemon'),
          'unshare',
          ['--mount', '--propagation', 'private', '--', buildkitd, '--config', join(this.dir, 'buildkitd.toml')],
          [buildkitd],
        ),
      );
    }
    const started = pid;
    await waitUntil(
      'buildkitd did not answer',
      () => this.isHealthy(),
      60_000,
      () => (isRunning(started) ? undefined : `it exited; see ${this.logFile}`),
    );
  }

  async isHealthy(): Promise<boolean> {
    if (!existsSync(this.socket)) return false;
    try {
      await exec(binaryOf(this.options.toolchain, 'buildctl'), ['--addr', `unix://${this.socket}`, 'debug', 'workers']);
      return true;
    } catch {
      return false;
    }
  }

  /** Stops buildkitd, kills whatever it left in its cgroup, and removes the cgroups it used. */
  async stop(): Promise<void> {
    await this.daemons.stop(DAEMON, 30_000);
    if (existsSync(this.cgroupRecordFile)) {
      const record = JSON.parse(await readFile(this.cgroupRecordFile, 'utf8')) as CgroupRecord;
      await removeCgroups(record.path, record.created);
      await rm(this.cgroupRecordFile);
    }
    await rm(this.socket, { force: true });
    await this.rootLock?.release();
    this.rootLock = undefined;
  }

  /** Builds one image and pushes it; progress goes to a log file, a heartbeat line to the terminal. */
  async build(request: BuildRequest): Promise<BuiltImage> {
    const started = Date.now();
    const stamp = request.immutableInputs ? await this.stampFile(request) : undefined;
    if (stamp && existsSync(stamp)) {
      const digest = (await readFile(stamp, 'utf8')).trim();
      if ((await new RegistryClient(`http://${this.registry}`).manifest(request.image))?.digest === digest) {
        log.step(`  up to date: ${request.image}`);
        return { image: request.image, digest, ms: Date.now() - started, upToDate: true };
      }
    }
    const logFile = this.daemons.logFile(`build-${request.name}`);
    const metadataFile = join(this.dir, `build-${request.name}.json`);
    await rm(logFile, { force: true });
    await rm(metadataFile, { force: true });
    const args = [
      '--addr',
      `unix://${this.socket}`,
      'build',
      '--frontend',
      'dockerfile.v0',
      '--local',
      `context=${request.context}`,
      '--local',
      `dockerfile=${dirname(request.dockerfile)}`,
      '--opt',
      `filename=${basename(request.dockerfile)}`,
      // The built-in Dockerfile frontend, not the `# syntax=` image (Docker Hub is out of reach): it reads 1.7's syntax.
      '--opt',
      'cmdline=dockerfile.v0',
      ...(request.target ? ['--opt', `target=${request.target}`] : []),
      ...Object.entries(request.buildArgs ?? {}).flatMap(([k, v]) => ['--opt', `build-arg:${k}=${v}`]),
      ...Object.entries(request.namedContexts ?? {}).flatMap(([name, dir]) => [
        '--local',
        `${localName(name)}=${dir}`,
        '--opt',
        `context:${name}=local:${localName(name)}`,
      ]),
      ...this.caArgs(),
      '--output',
      `type=image,name=${request.image},push=true,registry.insecure=true`,
      '--metadata-file',
      metadataFile,
      '--progress',
      'plain',
    ];
    await withHeartbeat(
      `  building ${request.image} (log: ${logFile})`,
      runLogged(binaryOf(this.options.toolchain, 'buildctl'), args, logFile),
    );
    const metadata = JSON.parse(await readFile(metadataFile, 'utf8')) as Record<string, unknown>;
    const digest = metadata['containerimage.digest'];
    if (typeof digest !== 'string') throw new Error(`buildctl wrote no image digest to ${metadataFile}`);
    const ms = Date.now() - started;
    log.step(`  pushed ${request.image} in ${formatDuration(ms)}`);
    if (stamp) {
      await mkdir(dirname(stamp), { recursive: true });
      await writeFile(stamp, `${digest}\n`);
    }
    return { image: request.image, digest, ms, upToDate: false };
  }

  /** Where the digest an immutable-input build last pushed is kept, keyed by all of its inputs. */
  private async stampFile(request: BuildRequest): Promise<string> {
    const { repository, tag } = parseReference(request.image);
    const inputs = JSON.stringify({
      dockerfile: await readFile(request.dockerfile, 'utf8'),
      context: request.context,
      target: request.target,
      buildArgs: request.buildArgs,
      namedContexts: request.namedContexts,
      image: `${repository}:${tag}`,
    });
    // The same inputs on another port of the registry (a test's) are the same inputs.
    const key = createHash('sha256')
      .update(inputs.replaceAll(`${this.registry}/`, ''))
      .digest('hex');
    return join(imagesCacheDir(), 'pushed', key.slice(0, 16));
  }

  private caArgs(): string[] {
    const bundle = this.caBundle;
    if (!bundle) return [];
    return ['--secret', `id=${CA_SECRET_ID},src=${bundle}`, '--opt', `build-arg:BUILD_CA_BUNDLE=${CA_SECRET_PATH}`];
  }

  private config(): string {
    const runc = this.options.runc ?? '/usr/sbin/runc';
    return `root = ${JSON.stringify(this.rootDir)}

[log]
  format = "text"

[grpc]
  address = [${JSON.stringify(`unix://${this.socket}`)}]

[worker.oci]
  enabled = true
  binary = ${JSON.stringify(runc)}
  snapshotter = "overlayfs"
  # No CNI here: RUN steps share the host's network, which is how npm ci reaches the registry the host reaches.
  networkMode = "host"
  # RUN steps' containers go below our cgroup (runc's default, /buildkit/<id>, is in the machine's).
  defaultCgroupParent = ${JSON.stringify(this.cgroup)}
  gc = true
  maxUsedSpace = "20GB"
  minFreeSpace = "5GB"

[worker.containerd]
  enabled = false

[registry.${JSON.stringify(this.options.registry)}]
  http = true
  insecure = true
`;
  }
}

function isRunning(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** A local source's name: named contexts may hold characters (`/`, `:`) a local name may not. */
function localName(contextName: string): string {
  return `ctx-${contextName.replace(/[^a-zA-Z0-9_-]/g, '-')}`;
}
