export { ImageBuilder } from './buildkit';
export type { BuildRequest, BuiltImage, ImageBuilderOptions } from './buildkit';
export { buildkitCacheDir, imagesCacheDir, registryCacheDir } from './cache-paths';
export {
  buildMedusaImage,
  buildServiceImage,
  DEBIAN_BASE,
  ensureBaseImages,
  ensureImages,
  PAUSE_VERSION,
} from './ensure-images';
export type { BaseImages, EnsureImagesOptions, PlatformImages } from './ensure-images';
export { printImages } from './images-command';
export { Registry } from './registry';
export type { RegistryOptions } from './registry';
export { compressedSize, parseReference, RegistryClient } from './registry-client';
export type { ImageConfig, ImageManifest } from './registry-client';
