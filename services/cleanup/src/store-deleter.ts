import { Controller, Inject, Injectable, Logger, UseFilters } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { decode, DeleteStoreCommand, DeleteStoreCommandSchema, Step, subjects } from '@urumi/contracts';
import { deleteStore, KubeClients, readStore, StoreEventPublisher, StoreLifecycle } from '@urumi/kube';
import { decodePayload, JetStreamErrorFilter } from '@urumi/messaging';
import { STORE_LIFECYCLE } from './config';

/**
 * Turns a delete command into the Store's deletion; its finalizer makes the teardown happen. A store
 * that was never provisioned is marked withdrawn (so it never will be) and reported Deleted at once.
 */
@Injectable()
export class StoreDeleter {
  private readonly logger = new Logger(StoreDeleter.name);

  constructor(
    @Inject(KubeClients) private readonly kube: KubeClients,
    @Inject(STORE_LIFECYCLE) private readonly lifecycle: StoreLifecycle,
    @Inject(StoreEventPublisher) private readonly events: StoreEventPublisher,
  ) {}

  async delete(command: DeleteStoreCommand): Promise<'deleting' | 'withdrawn' | 'gone'> {
    const { storeId, name, owner, requestId } = command;
    const { previous } = await this.lifecycle.withdraw(storeId);
    if (previous === undefined) {
      // Never handed to the provisioner, and now it never will be.
      await this.events.publishRaw({ storeId, name, owner, requestId }, { step: Step.DELETED });
      this.logger.log({ msg: 'Store withdrawn before provisioning', store: name, storeId, requestId });
      return 'withdrawn';
    }
    const store = await readStore(this.kube, name);
    if (!store || store.spec.storeId !== storeId) {
      // The provisioner has not made it yet; when it does, it sees the withdrawal and deletes it.
      return 'gone';
    }
    await deleteStore(this.kube, name);
    this.logger.log({ msg: 'Deleting Store', store: name, storeId, requestId });
    return 'deleting';
  }
}

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
