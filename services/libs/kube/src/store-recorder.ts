import { CoreV1Event, V1MicroTime } from '@kubernetes/client-node';
import { Logger, Provider } from '@nestjs/common';
import { KubeClients } from './client';
import { describeKubeError } from './errors';
import { LEADER_ELECTION, LeaderElectionSettings } from './leadership';
import { STORE, Store } from './store';

/**
 * Where a Store's Events live. A Store is cluster-scoped, and the API server takes Events about a cluster-scoped
 * object only in `default` (or kube-system): `kubectl describe store <name>` finds them there by the Store's uid.
 */
export const STORE_EVENTS_NAMESPACE = 'default';
/** Longer messages are cut, as client-go's recorder cuts them. */
const MESSAGE_LIMIT = 1024;

/** One line of a Store's story: Normal for a step taken, Warning for a failure or a fault. */
export interface StoreNote {
  readonly type: 'Normal' | 'Warning';
  /** UpperCamelCase, as Kubernetes reasons are (Approved, NamespaceReady, ProvisioningTimeout, …). */
  readonly reason: string;
  readonly message: string;
  /** When it happened; now unless given (a history entry's own time keeps the Events in the steps' order). */
  readonly at?: Date;
}

/**
 * Writes Kubernetes Events on Stores, as the operator that acted (`urumi.dev/provisioner`, `urumi.dev/cleanup`) and
 * the pod it runs in. An Event is a report, not state: one the API server refuses is logged and dropped, never retried
 * and never in the way of the work it reports (as with client-go's recorder). Messages carry what the Store's status
 * says, never a credential.
 */
export class StoreRecorder {
  private readonly logger = new Logger(StoreRecorder.name);

  constructor(
    private readonly kube: KubeClients,
    /** The operator, as Events name their reporting controller: urumi.dev/<component>. */
    private readonly component: string,
    /** The pod (or process) that acted. */
    private readonly instance: string,
    /** What the operator does to a Store (Provision, Teardown): the Event's action. */
    private readonly action: string,
  ) {}

  /** The recorder for an operator, in its pod's name (the leader election's identity). */
  static provider(component: string, action: string): Provider {
    return {
      provide: StoreRecorder,
      inject: [KubeClients, LEADER_ELECTION],
      useFactory: (kube: KubeClients, election: LeaderElectionSettings) =>
        new StoreRecorder(kube, component, election.podName, action),
    };
  }

  /** Records the notes on the Store, in their order; resolves when the API server has answered them all. */
  async record(store: Store, ...notes: readonly StoreNote[]): Promise<void> {
    for (const [index, note] of notes.entries()) {
      try {
        await this.kube.core.createNamespacedEvent({
          namespace: STORE_EVENTS_NAMESPACE,
          body: this.event(store, note, index),
        });
      } catch (error) {
        this.logger.warn({
          msg: 'Could not record an Event on the Store',
          store: store.metadata.name,
          reason: note.reason,
          error: describeKubeError(error),
        });
      }
    }
  }

  private event(store: Store, note: StoreNote, index: number): CoreV1Event {
    const message =
      note.message.length > MESSAGE_LIMIT ? `${note.message.slice(0, MESSAGE_LIMIT - 3)}...` : note.message;
    const at = note.at ?? new Date();
    // The microsecond it happened: its millisecond, and its place among the notes recorded with it.
    const micros = BigInt(at.getTime()) * 1000n + BigInt(index % 1000);
    return {
      // Named as client-go names Events, <object>.<time in hex>: kubectl describe sorts by lastTimestamp (to the
      // second) and keeps the API's order, by name and so by time, among the Events of one second.
      metadata: {
        name: `${store.metadata.name}.${micros.toString(16).padStart(14, '0')}`,
        namespace: STORE_EVENTS_NAMESPACE,
      },
      involvedObject: {
        apiVersion: STORE.apiVersion,
        kind: STORE.kind,
        name: store.metadata.name,
        uid: store.metadata.uid,
        resourceVersion: store.metadata.resourceVersion,
      },
      type: note.type,
      reason: note.reason,
      message,
      action: this.action,
      firstTimestamp: at,
      lastTimestamp: at,
      // The client sends a string as it is; its V1MicroTime would pad the milliseconds with zeros.
      eventTime: microTime(micros) as unknown as V1MicroTime,
      reportingComponent: `urumi.dev/${this.component}`,
      reportingInstance: this.instance.slice(0, 128),
      count: 1,
    };
  }
}

/** An Event's eventTime: RFC 3339 to the microsecond, as the API server reads it. */
function microTime(micros: bigint): string {
  const iso = new Date(Number(micros / 1000n)).toISOString();
  return iso.replace(/Z$/, `${String(micros % 1000n).padStart(3, '0')}Z`);
}
