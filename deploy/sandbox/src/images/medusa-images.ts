import { join } from 'node:path';
import { formatDuration, log } from '../log';
import { pullReference } from '../node/addon-images';
import { repoRoot } from '../paths';
import { Toolchain } from '../toolchain';
import { BuiltImage, ImageBuilder } from './buildkit';
import { BaseImages, buildMedusaImage } from './ensure-images';

const IMAGES_DIR = join(repoRoot, 'deploy/engines/medusa/images');

/**
 * The database images charts/store-medusa runs where the official ones cannot be pulled: Debian's own packages under
 * names of our own (deploy/engines/medusa/images), tagged with Debian's versions, not the official images' tags.
 */
export const MEDUSA_DATA_IMAGES = {
  postgresql: { repository: 'urumi/postgresql', tag: '15-bookworm', dir: join(IMAGES_DIR, 'postgresql') },
  redis: { repository: 'urumi/redis', tag: '7.0-bookworm', dir: join(IMAGES_DIR, 'redis') },
} as const;

/** What a Medusa store's pods pull (the REGISTRY_HOST names the real node maps to the sandbox's registry). */
export interface MedusaStoreImages {
  readonly store: string;
  readonly postgresql: string;
  readonly redis: string;
}

export interface MedusaStoreImagesBuilt {
  readonly images: MedusaStoreImages;
  /** Each pushed image with its build time (`upToDate` when nothing was rebuilt). */
  readonly built: Readonly<Record<keyof MedusaStoreImages, BuiltImage>>;
}

/** One Debian-package image on the sandbox's Debian base, pushed as <registry>/<repository>:<tag>. */
export async function buildDataImage(
  builder: ImageBuilder,
  bases: BaseImages,
  which: keyof typeof MEDUSA_DATA_IMAGES,
): Promise<BuiltImage> {
  const { repository, tag, dir } = MEDUSA_DATA_IMAGES[which];
  return builder.build({
    name: which,
    dockerfile: join(dir, 'Dockerfile'),
    context: dir,
    buildArgs: { DEBIAN_IMAGE: bases.debian },
    image: `${builder.registry}/${repository}:${tag}`,
  });
}

/**
 * The store image (the images helper's buildMedusaImage) and its PostgreSQL and Redis images, built on the sandbox's
 * bases and pushed to the builder's registry; BuildKit's cache makes an unchanged rebuild a matter of seconds.
 */
export async function ensureMedusaStoreImages(
  builder: ImageBuilder,
  toolchain: Toolchain,
  bases: BaseImages,
): Promise<MedusaStoreImagesBuilt> {
  const started = Date.now();
  log.step('building the Medusa store images (store, PostgreSQL, Redis)');
  const [store, postgresql, redis] = await Promise.all([
    buildMedusaImage({ builder, toolchain }, bases),
    buildDataImage(builder, bases, 'postgresql'),
    buildDataImage(builder, bases, 'redis'),
  ]);
  log.step(`Medusa store images ready in ${formatDuration(Date.now() - started)}`);
  const pull = (built: BuiltImage) => pullReference(built.image, builder.registry);
  return {
    images: { store: pull(store), postgresql: pull(postgresql), redis: pull(redis) },
    built: { store, postgresql, redis },
  };
}
