/** A content descriptor of an OCI/Docker manifest. */
export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
}

export interface ImageManifest {
  readonly mediaType?: string;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
}

export interface ImageConfig {
  readonly config: {
    readonly User?: string;
    readonly Cmd?: readonly string[];
    readonly Entrypoint?: readonly string[];
    readonly Env?: readonly string[];
    readonly WorkingDir?: string;
  };
  readonly history?: readonly { readonly created_by?: string; readonly empty_layer?: boolean }[];
  readonly rootfs: { readonly diff_ids: readonly string[] };
}

/** Single-image manifests only: BuildKit pushes one platform without attestations. */
const MANIFEST_TYPES = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

/** `host:port/repo/name:tag` → its repository and tag. */
export function parseReference(reference: string): { registry: string; repository: string; tag: string } {
  const match = /^([^/]+)\/(.+):([^:/]+)$/.exec(reference);
  if (!match) throw new Error(`not a host/repository:tag image reference: ${reference}`);
  const [, registry = '', repository = '', tag = ''] = match;
  return { registry, repository, tag };
}

/** Reads images from a registry through the Docker Registry HTTP API v2. */
export class RegistryClient {
  constructor(private readonly url: string) {}

  /** The manifest a reference names, and its digest; undefined when the registry has no such tag. */
  async manifest(reference: string): Promise<{ digest: string; manifest: ImageManifest } | undefined> {
    const { repository, tag } = parseReference(reference);
    const response = await fetch(`${this.url}/v2/${repository}/manifests/${tag}`, {
      headers: { Accept: MANIFEST_TYPES },
    });
    if (response.status === 404) return undefined;
    if (!response.ok) throw new Error(`GET manifest ${reference}: HTTP ${response.status}`);
    const digest = response.headers.get('docker-content-digest') ?? '';
    return { digest, manifest: (await response.json()) as ImageManifest };
  }

  async blob(reference: string, digest: string): Promise<Buffer> {
    const { repository } = parseReference(reference);
    const response = await fetch(`${this.url}/v2/${repository}/blobs/${digest}`);
    if (!response.ok) throw new Error(`GET blob ${digest} of ${reference}: HTTP ${response.status}`);
    return Buffer.from(await response.arrayBuffer());
  }

  async config(reference: string, manifest: ImageManifest): Promise<ImageConfig> {
    return JSON.parse((await this.blob(reference, manifest.config.digest)).toString()) as ImageConfig;
  }
}

/** What an image weighs in the registry: its compressed layers plus its config. */
export function compressedSize(manifest: ImageManifest): number {
  return manifest.config.size + manifest.layers.reduce((sum, layer) => sum + layer.size, 0);
}
