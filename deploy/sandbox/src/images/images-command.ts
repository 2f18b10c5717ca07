import { PlatformImages } from './ensure-images';
import { compressedSize, RegistryClient } from './registry-client';

/** Prints each image `npm run sandbox -- images` built, with its compressed size and digest in the registry. */
export async function printImages(registryUrl: string, images: PlatformImages): Promise<void> {
  const client = new RegistryClient(registryUrl);
  const all = [
    images.pause,
    images.debian,
    images.node22,
    images.node20,
    ...Object.values(images.services),
    images.medusa,
  ];
  for (const image of all) {
    const found = await client.manifest(image);
    const mb = found ? (compressedSize(found.manifest) / 1e6).toFixed(1) : '?';
    console.log(`${image.padEnd(56)} ${mb.padStart(7)} MB  ${found?.digest ?? 'missing'}`);
  }
}
