import { Controller, Inject, Injectable, Logger, UseFilters } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { decode, DeleteStoreCommand, DeleteStoreCommandSchema, Step, subjects } from '@urumi/contracts';
import { deleteStore, KubeClients, readStore } from '@urumi/kube';
import { decodePayload, JetStreamErrorFilter, StoreEventPublisher, StoreLifecycle } from '@urumi/messaging';
import { STORE_LIFECYCLE } from './config';

/**
 * Turns a delete command into the Store's deletion; its finalizer makes the teardown happen. The store
 * is marked withdrawn first (so the provisioner never makes it, or deletes what it just made), then its
 * Store is read live: a store without one is reported Deleted at once. Repeating the command repeats
 * the outcome, so a redelivered, replayed or re-issued delete always ends the store.
 */
@Injectable()
export class StoreDeleter {
  private readonly logger = new Logger(StoreDeleter.name);

  constructor(
    @Inject(KubeClients) private readonly kube: KubeClients,
    @Inject(STORE_LIFECYCLE) private readonly lifecycle: StoreLifecycle,
    @Inject(StoreEventPublisher) private readonly events: StoreEventPublisher,
  ) {}

  async delete(command: DeleteStoreCommand): Promise<'deleting' | 'withdrawn'> {
    const { storeId, name, owner, requestId } = command;
    // Withdrawn before the read: a Store the provisioner creates after it sees the mark and goes at once.
    await this.lifecycle.withdraw(storeId);
    const store = await readStore(this.kube, name);
    if (store?.spec.storeId === storeId) {
      await deleteStore(this.kube, name);
      this.logger.log({ msg: 'Deleting Store', store: name, storeId, requestId });
      return 'deleting';
    }
    // No Store of its own (never provisioned, its approval dead-lettered, or torn down already): it is gone.
    await this.events.publish({ storeId, name, owner, requestId }, { step: Step.DELETED });
    this.logger.log({ msg: 'Store withdrawn before provisioning', store: name, storeId, requestId });
    return 'withdrawn';
  }
}

/**
 * Consumes delete commands on every replica, leader or not (a durable pull consumer hands each message to one of them),
 * so deletes are accepted during a failover too. That is safe concurrently, and with a stalled replica's redelivered
 * copy: the withdrawn mark is a compare-and-set that only ever moves to `withdrawn`, deleting a Store that is already
 * deleting changes nothing, and a repeated Deleted event is dropped by its id. The teardown that follows (Helm,
 * namespaces, the finalizer) is the leader's alone (Teardown).
 */
@Controller()
@UseFilters(JetStreamErrorFilter)
export class StoreDeleterController {
  constructor(@Inject(StoreDeleter) private readonly deleter: StoreDeleter) {}

  @EventPattern(subjects.deleteStore)
  async delete(@Payload() payload: unknown): Promise<void> {
    await this.deleter.delete(parseDeleteCommand(payload));
  }
}

export function parseDeleteCommand(payload: unknown): DeleteStoreCommand {
  return decodePayload('DeleteStoreCommand', () => decode(DeleteStoreCommandSchema, payload), [
    'storeId',
    'name',
    'owner',
  ]);
}
