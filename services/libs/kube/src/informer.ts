import {
  ConfigurationOptions,
  KubeConfig,
  KubernetesListObject,
  KubernetesObject,
  ListWatch,
  setHeaderOptions,
  Watch,
} from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';

/** How long an aborted watch may take to report its end before the next one starts anyway. */
const ABORT_SETTLE_MS = 1_000;

/** Asks the API server for only each object's metadata: on a list, and on a watch. */
const PARTIAL_OBJECT_METADATA_LIST = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';
const PARTIAL_OBJECT_METADATA = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';

/** Drops what no handler reads before the informer caches an object: the field managers' bookkeeping. */
function trimmed<T extends KubernetesObject>(object: T): T {
  if (object.metadata?.managedFields) delete object.metadata.managedFields;
  return object;
}

/** client-node's Watch, delivering trimmed objects, and only their metadata when `metadataOnly`. */
class TrimmingWatch extends Watch {
  constructor(config: KubeConfig, metadataOnly: boolean) {
    super(
      metadataOnly
        ? // The same cluster and credentials, asking for PartialObjectMetadata.
          Object.assign(Object.create(config) as KubeConfig, {
            applyToFetchOptions: (options: Parameters<KubeConfig['applyToFetchOptions']>[0]) =>
              config.applyToFetchOptions({
                ...options,
                headers: { ...options.headers, Accept: PARTIAL_OBJECT_METADATA },
              }),
          })
        : config,
    );
  }

  override watch(
    path: string,
    queryParams: Parameters<Watch['watch']>[1],
    callback: (phase: string, apiObj: KubernetesObject, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    return super.watch(
      path,
      queryParams,
      (phase, object, watchObject) => callback(phase, trimmed(object), watchObject),
      done,
    );
  }
}

export interface ResilientInformerOptions<T extends KubernetesObject> {
  /** The API path to watch, e.g. `/apis/urumi.dev/v1/stores` or `/apis/apps/v1/deployments`. */
  readonly path: string;
  /** The list call, passing `options` on to the typed client (with `metadataOnly`, they ask for metadata alone). */
  readonly list: (options?: ConfigurationOptions) => Promise<KubernetesListObject<T>>;
  readonly labelSelector?: string;
  /**
   * Cache each object's metadata alone (PartialObjectMetadata): for handlers that need only names, labels and
   * deletions. Cached objects never carry their field managers' bookkeeping (managedFields) either way.
   */
  readonly metadataOnly?: boolean;
  /** Called for every object added, changed or deleted, and for every object again after a re-list. */
  readonly onChange: (object: T, deleted: boolean) => void;
  readonly onError?: (error: unknown) => void;
  /** Wait before restarting after a watch error. */
  readonly restartDelayMs?: number;
  /** Restart the watch this often, whatever happens: a watch that stalls silently can't hide changes for longer. */
  readonly rewatchEveryMs?: number;
}

/**
 * client-node's informer (list, then watch, with a local cache) made to keep going: it stops on any
 * error other than 410, so this restarts it after a pause; and it restarts the watch periodically (from
 * the last resource version, so nothing is missed) as a watchdog against watches that stall silently.
 * Handlers must be idempotent: a re-list after a 410 delivers every object again.
 */
export class ResilientInformer<T extends KubernetesObject> {
  private readonly informer: ListWatch<T>;
  private restartTimer?: NodeJS.Timeout;
  private rewatchTimer?: NodeJS.Timeout;
  private running = false;
  private synced = false;
  /** Set while restart() waits for the watch it aborted to report its end (expected, not a failure). */
  private aborted?: () => void;
  private restarting = false;

  constructor(
    config: KubeConfig,
    private readonly options: ResilientInformerOptions<T>,
  ) {
    const metadataOnly = options.metadataOnly ?? false;
    const listOptions = metadataOnly ? setHeaderOptions('Accept', PARTIAL_OBJECT_METADATA_LIST) : undefined;
    const list = async () => {
      const result = await options.list(listOptions);
      result.items.forEach(trimmed);
      return result;
    };
    const watch = new TrimmingWatch(config, metadataOnly);
    this.informer = new ListWatch<T>(options.path, watch, list, false, options.labelSelector);
    this.informer.on('add', (o) => options.onChange(o, false));
    this.informer.on('update', (o) => options.onChange(o, false));
    this.informer.on('delete', (o) => options.onChange(o, true));
    this.informer.on('connect', () => {
      this.synced = true;
    });
    this.informer.on('error', (error) => {
      if (!this.running) return; // stop() aborts the watch: not a failure
      if (this.aborted) return this.aborted(); // nor does restart()
      this.synced = false;
      options.onError?.(error);
      this.scheduleRestart(options.restartDelayMs ?? 2_000);
    });
  }

  async start(): Promise<void> {
    this.running = true;
    await this.informer.start();
    this.synced = true;
    const every = this.options.rewatchEveryMs ?? 5 * 60_000;
    this.rewatchTimer = setInterval(() => void this.restart(), every);
    this.rewatchTimer.unref();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.restartTimer);
    clearInterval(this.rewatchTimer);
    await this.informer.stop();
  }

  /** True once the first list arrived and while the watch runs. */
  get isSynced(): boolean {
    return this.synced;
  }

  get(name: string, namespace?: string): T | undefined {
    return this.informer.get(name, namespace);
  }

  list(namespace?: string): readonly T[] {
    return this.informer.list(namespace);
  }

  private scheduleRestart(delayMs: number): void {
    if (!this.running || this.restartTimer) return;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      void this.restart();
    }, delayMs);
  }

  /**
   * Stops the watch and starts it again from the last resource version. The aborted watch reports its end later, and
   * client-node's handler for that end aborts whatever watch runs by then: the next one starts only once it came (or,
   * had the watch ended already, after a moment).
   */
  private async restart(): Promise<void> {
    if (!this.running || this.restarting) return;
    this.restarting = true;
    try {
      const ended = new Promise<void>((resolve) => (this.aborted = resolve));
      await this.informer.stop();
      await Promise.race([ended, sleep(ABORT_SETTLE_MS)]);
      this.aborted = undefined;
      if (!this.running) return;
      await this.informer.start();
      this.synced = true;
    } catch (error) {
      this.options.onError?.(error);
      this.scheduleRestart(this.options.restartDelayMs ?? 2_000);
    } finally {
      this.aborted = undefined;
      this.restarting = false;
    }
  }
}
