import { Controller, Inject, Injectable, Logger, UseFilters } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { decode, engineName, Step, StoreStatusChanged, StoreStatusChangedSchema, subjects } from '@urumi/contracts';
import {
  createStore,
  deleteStore,
  isConflict,
  KubeClients,
  readStore,
  STORE,
  Store,
  STORE_FINALIZER,
} from '@urumi/kube';
import { decodePayload, JetStreamErrorFilter, StoreEventPublisher, StoreLifecycle } from '@urumi/messaging';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ProvisionerConfig } from './config';
import { PROVISIONER_CONFIG, STORE_LIFECYCLE } from './tokens';

/**
 * Turns an approved store into a Store resource: named after the store (so a repeat finds it rather
 * than making another), with the teardown finalizer set from the start. A delete that came first wins.
 */
@Injectable()
export class StoreCreator {
  private readonly logger = new Logger(StoreCreator.name);

  constructor(
    @Inject(PROVISIONER_CONFIG) private readonly config: ProvisionerConfig,
    @Inject(KubeClients) private readonly kube: KubeClients,
    @Inject(STORE_LIFECYCLE) private readonly lifecycle: StoreLifecycle,
    @Inject(StoreEventPublisher) private readonly events: StoreEventPublisher,
  ) {}

  async create(approved: StoreStatusChanged): Promise<'created' | 'existed' | 'withdrawn'> {
    const { storeId, name, owner, requestId } = approved;
    if ((await this.lifecycle.beginProvisioning(storeId)).mark === 'withdrawn') {
      // A redelivered approval may find its Store made and then withdrawn: that one's teardown reports it.
      if ((await readStore(this.kube, name))?.spec.storeId === storeId) {
        await deleteStore(this.kube, name);
        return 'withdrawn';
      }
      await this.events.publish({ storeId, name, owner, engine: approved.engine, requestId }, { step: Step.DELETED });
      this.logger.log({ msg: 'Store deleted before it was provisioned', store: name, storeId });
      return 'withdrawn';
    }
    const body: Store = {
      apiVersion: STORE.apiVersion,
      kind: STORE.kind,
      metadata: { name, finalizers: [STORE_FINALIZER] },
      spec: {
        storeId,
        engine: engineName(approved.engine),
        owner,
        plan: this.config.plan,
        domain: `${name}.${this.config.baseDomain}`,
        ...(requestId ? { requestId } : {}),
      },
    };
    let outcome: 'created' | 'existed' = 'created';
    try {
      await createStore(this.kube, body);
      this.logger.log({ msg: 'Created Store', store: name, storeId, engine: body.spec.engine, requestId });
    } catch (error) {
      if (!isConflict(error)) throw error;
      const existing = await this.previousGone(name, storeId);
      if (!existing) {
        await createStore(this.kube, body);
        this.logger.log({ msg: 'Created Store', store: name, storeId, engine: body.spec.engine, requestId });
      } else if (existing.spec.storeId !== storeId) {
        // The name's previous store is still being torn down: the redelivery tries again.
        throw new Error(`the Store ${name} still belongs to an earlier store, which is being deleted`);
      } else {
        outcome = 'existed';
      }
    }
    // A delete may have come between the mark and the create: then this Store goes straight to teardown.
    if ((await this.lifecycle.current(storeId)) === 'withdrawn') {
      await deleteStore(this.kube, name);
      return 'withdrawn';
    }
    return outcome;
  }

  /**
   * The Store with this name; if it is an earlier store's in its last moments of teardown (its
   * Deleted is published just before its finalizer goes), waits briefly for it to go and creates anew.
   */
  private async previousGone(name: string, storeId: string): Promise<Store | undefined> {
    for (let attempt = 0; ; attempt++) {
      const existing = await readStore(this.kube, name);
      if (existing?.spec.storeId === storeId || !existing?.metadata.deletionTimestamp || attempt >= 40) return existing;
      await sleep(250);
    }
  }
}

/**
 * Consumes approvals on every replica, leader or not (a durable pull consumer hands each message to one of them). That
 * is safe concurrently, and with a stalled replica's redelivered copy: all it writes is a Store named after the store
 * (a second create gets a 409 and finds it), the lifecycle mark (compare-and-set) and an event (deduplicated by id);
 * namespaces and Helm, where two writers would race, are the leader's reconciler's alone.
 */
@Controller()
@UseFilters(JetStreamErrorFilter)
export class StoreCreatorController {
  constructor(@Inject(StoreCreator) private readonly creator: StoreCreator) {}

  @EventPattern(subjects.status(Step.APPROVED))
  async approved(@Payload() payload: unknown): Promise<void> {
    await this.creator.create(parseApproved(payload));
  }
}

export function parseApproved(payload: unknown): StoreStatusChanged {
  return decodePayload('StoreStatusChanged', () => decode(StoreStatusChangedSchema, payload), [
    'storeId',
    'name',
    'owner',
    'engine',
  ]);
}
