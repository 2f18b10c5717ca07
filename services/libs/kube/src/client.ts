import {
  AppsV1Api,
  BatchV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObject,
  KubernetesObjectApi,
  NetworkingV1Api,
  PatchStrategy,
} from '@kubernetes/client-node';
import { isNotFound } from './errors';

/**
 * The API clients a service uses, from $KUBECONFIG when set (local runs, tests) and from the pod's
 * ServiceAccount otherwise (in the cluster).
 */
export class KubeClients {
  readonly objects: KubernetesObjectApi;
  readonly core: CoreV1Api;
  readonly apps: AppsV1Api;
  readonly batch: BatchV1Api;
  /** Leases, for leader election (leader-election.ts). */
  readonly coordination: CoordinationV1Api;
  readonly networking: NetworkingV1Api;
  readonly custom: CustomObjectsApi;

  constructor(readonly config: KubeConfig) {
    this.objects = KubernetesObjectApi.makeApiClient(config);
    this.core = config.makeApiClient(CoreV1Api);
    this.apps = config.makeApiClient(AppsV1Api);
    this.batch = config.makeApiClient(BatchV1Api);
    this.coordination = config.makeApiClient(CoordinationV1Api);
    this.networking = config.makeApiClient(NetworkingV1Api);
    this.custom = config.makeApiClient(CustomObjectsApi);
  }

  static fromEnvironment(env: NodeJS.ProcessEnv = process.env): KubeClients {
    const config = new KubeConfig();
    const file = env['KUBECONFIG'];
    if (file) config.loadFromFile(file);
    else config.loadFromCluster();
    return new KubeClients(config);
  }

  /** Server-side apply: the object's fields owned by `fieldManager` become exactly these. */
  async apply<T extends KubernetesObject>(manifest: T, fieldManager: string): Promise<T> {
    return this.objects.patch(manifest, undefined, undefined, fieldManager, true, PatchStrategy.ServerSideApply);
  }

  /** Deletes an object; one that is already gone counts as deleted. */
  async deleteIfExists(manifest: KubernetesObject, propagationPolicy = 'Background'): Promise<boolean> {
    try {
      await this.objects.delete(manifest, undefined, undefined, undefined, undefined, propagationPolicy);
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  async readIfExists<T extends KubernetesObject>(manifest: KubernetesObject): Promise<T | undefined> {
    try {
      return (await this.objects.read(manifest as never)) as T;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }
}
