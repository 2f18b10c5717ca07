import { dirname, join } from 'node:path';
import { BuiltImage, ImageBuilder } from '../images/buildkit';
import { repoRoot } from '../paths';
import { binaryOf, Toolchain } from '../toolchain';
import { versions } from '../versions';
import { AddonImages } from './addons';
import { REGISTRY_HOST } from './plan';

const STATIC_BINARY_DOCKERFILE = join(repoRoot, 'deploy/images/base/static-binary/Dockerfile');

/**
 * The image a pod names for one pushed to the builder's registry: the same repository under REGISTRY_HOST, which
 * containerd on the real node maps to that registry (a cluster pulling from its private registry).
 */
export function pullReference(pushed: string, registry: string): string {
  if (!pushed.startsWith(`${registry}/`)) throw new Error(`${pushed} is not on the registry ${registry}`);
  return `${REGISTRY_HOST}/${pushed.slice(registry.length + 1)}`;
}

/** One toolchain-built static binary on an empty image (deploy/images/base/static-binary), pushed to the registry. */
export function buildStaticBinaryImage(
  builder: ImageBuilder,
  toolchain: Toolchain,
  name: string,
  version: string,
): Promise<BuiltImage> {
  return builder.build({
    name,
    dockerfile: STATIC_BINARY_DOCKERFILE,
    context: dirname(binaryOf(toolchain, name)),
    buildArgs: { NAME: name },
    image: `${builder.registry}/base/${name}:${version}`,
  });
}

/** CoreDNS, Traefik and local-path-provisioner, the real node's add-ons, as pods name them. */
export async function ensureAddonImages(builder: ImageBuilder, toolchain: Toolchain): Promise<AddonImages> {
  const build = async (name: string, version: string) =>
    pullReference((await buildStaticBinaryImage(builder, toolchain, name, version)).image, builder.registry);
  const [coredns, traefik, localPathProvisioner] = await Promise.all([
    build('coredns', versions.coredns),
    build('traefik', versions.traefik),
    build('local-path-provisioner', versions.localPathProvisioner),
  ]);
  return { coredns, traefik, localPathProvisioner };
}
