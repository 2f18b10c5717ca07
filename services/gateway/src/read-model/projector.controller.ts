import { Controller, Logger } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import {
  CreateStoreCommandSchema,
  decode,
  DeleteStoreCommandSchema,
  Step,
  StoreStatusChanged,
  StoreStatusChangedSchema,
  subjects,
} from '@urumi/contracts';
import { decodePayload, JetStreamContext } from '@urumi/messaging';
import { StoreEvent } from './projection';
import { ReadModel } from './read-model.service';
import { StoreRepository } from './store.repository';

/**
 * Consumes the STORES stream and keeps the read model current. Replicas share the durable consumer, so
 * each sees some of the events, in any order: the projection does not depend on it.
 */
@Controller()
export class ProjectorController {
  private readonly logger = new Logger(ProjectorController.name);

  constructor(
    private readonly repository: StoreRepository,
    private readonly readModel: ReadModel,
  ) {}

  @EventPattern('store.>')
  async project(@Payload() payload: unknown, @Ctx() context: JetStreamContext): Promise<void> {
    const event = toStoreEvent(context.subject, payload, BigInt(context.streamSequence));
    if (!event) return;
    const id = event.kind === 'status' ? event.event.storeId : event.command.storeId;
    const { projection, revision } = await this.repository.apply(id, event, this.readModel.known(id));
    if (projection.action === 'put' && revision !== undefined) {
      this.readModel.accept({ id, store: projection.store, revision });
    }
    if (event.kind === 'status' && releasesName(event.event)) {
      await this.repository.releaseName(event.event.name, event.event.storeId);
    }
    if (projection.action !== 'keep') this.logger.debug({ msg: 'Projected', storeId: id, subject: context.subject });
  }
}

/** A rejected or deleted store no longer holds its name. */
function releasesName(event: StoreStatusChanged): boolean {
  return event.step === Step.REJECTED || event.step === Step.DELETED;
}

function toStoreEvent(subject: string, payload: unknown, sequence: bigint): StoreEvent | undefined {
  if (subject === subjects.createStore) {
    const command = decodePayload('CreateStoreCommand', () => decode(CreateStoreCommandSchema, payload), ['storeId']);
    return { kind: 'create', sequence, command };
  }
  if (subject === subjects.deleteStore) {
    const command = decodePayload('DeleteStoreCommand', () => decode(DeleteStoreCommandSchema, payload), ['storeId']);
    return { kind: 'delete', sequence, command };
  }
  if (subject.startsWith('store.status.')) {
    const event = decodePayload('StoreStatusChanged', () => decode(StoreStatusChangedSchema, payload), [
      'storeId',
      'step',
    ]);
    return { kind: 'status', sequence, event };
  }
  return undefined;
}
