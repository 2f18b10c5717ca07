import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, rename } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { formatDuration, log } from '../log';
import { repoRoot } from '../paths';
import { SERVICES, ServiceName } from '../platform';
import { binaryOf, Toolchain } from '../toolchain';
import { BuiltImage, ImageBuilder } from './buildkit';
import { imagesCacheDir } from './cache-paths';
import { DebianRootfsSpec, ensureDebianRootfs } from './debian-rootfs';
import { ensureNodeDist, NodeRelease } from './node-dist';
import { ensurePauseBinary } from './pause-binary';

/** Debian bookworm as the images need it: minbase, plus the CA roots a service's outbound TLS checks against. */
export const DEBIAN_BASE: DebianRootfsSpec = { suite: 'bookworm', packages: ['ca-certificates'] };

/** The pause image's own version (deploy/images/base/pause); bump it when main.go changes. */
export const PAUSE_VERSION = '1.0.0';

/** The npm release each Node.js version bundles (its CHANGELOG's last "upgrade npm to"), as the official image has it. */
const BUNDLED_NPM: Readonly<Record<string, string>> = {
  '22.22.2': '10.9.7',
  '20.20.2': '10.8.2',
};

const PLATFORM_DOCKERFILE = join(repoRoot, 'deploy/images/Dockerfile');
const MEDUSA_DIR = join(repoRoot, 'deploy/engines/medusa');
const BASE_DIR = join(repoRoot, 'deploy/images/base');

export interface BaseImages {
  readonly pause: string;
  readonly debian: string;
  /** The Node image deploy/images/Dockerfile builds on (its NODE_IMAGE's version). */
  readonly node22: string;
  /** The Node image the Medusa image builds on. */
  readonly node20: string;
}

export interface PlatformImages extends BaseImages {
  readonly services: Readonly<Record<ServiceName, string>>;
  readonly medusa: string;
}

export interface EnsureImagesOptions {
  readonly builder: ImageBuilder;
  /** buf and helm, fed to the Dockerfile's `buf` and `helm` stages (no Go image or get.helm.sh here). */
  readonly toolchain: Toolchain;
  /** The services' tag (the platform chart's images.tag). */
  readonly tag?: string;
}

/** The Node.js version a Dockerfile's `ARG NODE_IMAGE=…node:<version>-…` pins, with the npm it bundles. */
export async function pinnedNodeRelease(dockerfile: string): Promise<NodeRelease> {
  const text = await readFile(dockerfile, 'utf8');
  const node = /^ARG NODE_IMAGE=\S*node:(\d+\.\d+\.\d+)-/m.exec(text)?.[1];
  if (!node) throw new Error(`${dockerfile} pins no NODE_IMAGE=…/node:<version>-…`);
  const npm = BUNDLED_NPM[node];
  if (!npm)
    throw new Error(`add the npm version that Node.js ${node} bundles to BUNDLED_NPM (images/ensure-images.ts)`);
  return { node, npm };
}

/** The tag an engine chart pins (its values.yaml image.tag), as deploy/images/build.sh reads it. */
export async function chartImageTag(chart: string): Promise<string> {
  const values = await readFile(join(repoRoot, 'charts', chart, 'values.yaml'), 'utf8');
  const tag = /^image:\n(?:[ ]{2}.*\n)*?[ ]{2}tag: (\S+)/m.exec(values)?.[1];
  if (!tag) throw new Error(`charts/${chart}/values.yaml has no image.tag`);
  return tag;
}

/** The Debian, Node and pause images, made here from Debian packages and npm's Node binaries, never pulled. */
export async function ensureBaseImages(builder: ImageBuilder): Promise<BaseImages> {
  const registry = builder.registry;
  const [rootfs, pauseDir, node22Release, node20Release] = await Promise.all([
    ensureDebianRootfs(DEBIAN_BASE),
    ensurePauseBinary(),
    pinnedNodeRelease(PLATFORM_DOCKERFILE),
    pinnedNodeRelease(join(MEDUSA_DIR, 'Dockerfile')),
  ]);
  const [node22Dist, node20Dist] = await Promise.all([ensureNodeDist(node22Release), ensureNodeDist(node20Release)]);

  const debian = `${registry}/base/debian:${DEBIAN_BASE.suite}`;
  const pause = `${registry}/base/pause:${PAUSE_VERSION}`;
  const [debianBuilt] = await Promise.all([
    builder.build({
      name: 'debian',
      dockerfile: join(BASE_DIR, 'debian/Dockerfile'),
      context: rootfs.dir,
      image: debian,
      immutableInputs: true,
    }),
    builder.build({
      name: 'pause',
      dockerfile: join(BASE_DIR, 'pause/Dockerfile'),
      context: pauseDir,
      image: pause,
      immutableInputs: true,
    }),
  ]);
  const buildNode = async (release: NodeRelease, context: string) => {
    const image = `${registry}/base/node:${release.node}-${DEBIAN_BASE.suite}`;
    await builder.build({
      name: `node-${release.node}`,
      dockerfile: join(BASE_DIR, 'node/Dockerfile'),
      context,
      // By digest: a rebuilt Debian image is a new input.
      buildArgs: { DEBIAN_IMAGE: `${debian}@${debianBuilt.digest}`, NODE_VERSION: release.node },
      image,
      immutableInputs: true,
    });
    return image;
  };
  const [node22, node20] = await Promise.all([
    buildNode(node22Release, node22Dist.dir),
    buildNode(node20Release, node20Dist.dir),
  ]);
  return { pause, debian, node22, node20 };
}

/** A folder holding `out/<name>`: the shape of the Dockerfile's `buf` and `helm` stages, from the host-built binary. */
export async function stageContext(toolchain: Toolchain, name: string): Promise<string> {
  const binary = binaryOf(toolchain, name);
  // Keyed by the toolchain folder, which is keyed by version and recipe.
  const dir = join(imagesCacheDir(), 'contexts', `${name}-${basename(dirname(dirname(binary)))}`);
  const target = join(dir, 'out', name);
  if (!existsSync(target)) {
    // Several builds stage the same context at once on a cold cache: each copies to a name of its own, and the
    // renames (of one binary) replace each other atomically.
    const partial = `${target}.${randomUUID()}.partial`;
    await mkdir(join(dir, 'out'), { recursive: true });
    await copyFile(binary, partial);
    await rename(partial, target);
  }
  return dir;
}

/** One service's image (a target of deploy/images/Dockerfile) on the local Node image, pushed as urumi/<service>. */
export async function buildServiceImage(
  options: EnsureImagesOptions,
  bases: BaseImages,
  service: ServiceName,
): Promise<BuiltImage> {
  const [buf, helm] = await Promise.all([
    stageContext(options.toolchain, 'buf'),
    stageContext(options.toolchain, 'helm'),
  ]);
  return options.builder.build({
    name: service,
    dockerfile: PLATFORM_DOCKERFILE,
    context: repoRoot,
    target: service,
    buildArgs: { NODE_IMAGE: bases.node22 },
    namedContexts: { buf, helm },
    image: `${options.builder.registry}/urumi/${service}:${options.tag ?? 'dev'}`,
  });
}

/** The Medusa store image (deploy/engines/medusa) on the local Node 20 image, tagged as charts/store-medusa pins. */
export async function buildMedusaImage(options: EnsureImagesOptions, bases: BaseImages): Promise<BuiltImage> {
  return options.builder.build({
    name: 'store-medusa',
    dockerfile: join(MEDUSA_DIR, 'Dockerfile'),
    context: MEDUSA_DIR,
    buildArgs: { NODE_IMAGE: bases.node20 },
    image: `${options.builder.registry}/urumi/store-medusa:${await chartImageTag('store-medusa')}`,
  });
}

/**
 * Every image the real node runs, built by BuildKit and pushed to the builder's registry: the bases, the four services
 * and the Medusa store. Cached: with nothing changed, BuildKit answers from its cache and the registry already has
 * every blob. WooCommerce is not built: its plugin comes from a registry this machine cannot reach.
 */
export async function ensureImages(options: EnsureImagesOptions): Promise<PlatformImages> {
  const started = Date.now();
  log.step(`building images into ${options.builder.registry} (BuildKit cache: ${options.builder.rootDir})`);
  const bases = await ensureBaseImages(options.builder);
  const [medusa, ...services] = await Promise.all([
    buildMedusaImage(options, bases),
    ...SERVICES.map((service) => buildServiceImage(options, bases, service)),
  ]);
  log.step(
    '  not built: urumi/store-woocommerce (its WooCommerce plugin comes from a registry this machine cannot reach)',
  );
  log.step(`images ready in ${formatDuration(Date.now() - started)}`);
  return {
    ...bases,
    services: Object.fromEntries(SERVICES.map((service, i) => [service, services[i]?.image ?? ''])) as Record<
      ServiceName,
      string
    >,
    medusa: medusa.image,
  };
}
