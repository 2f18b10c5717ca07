import { Controller, Inject, Type, UseFilters } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import {
  CreateStoreCommand,
  CreateStoreCommandSchema,
  decode,
  Step,
  StoreStatusChanged,
  StoreStatusChangedSchema,
} from '@urumi/contracts';
import { decodePayload, JetStreamErrorFilter } from '@urumi/messaging';
import { QuotaService } from './quota.service';
import { QuotaSubjects } from './quota.subjects';

/** The message handlers, built for the given subjects (decorator arguments are fixed when the class is made). */
export function quotaController(subjects: QuotaSubjects): Type<unknown> {
  @Controller()
  @UseFilters(JetStreamErrorFilter)
  class QuotaController {
    constructor(@Inject(QuotaService) private readonly quota: QuotaService) {}

    @EventPattern(subjects.createStore)
    async create(@Payload() payload: unknown): Promise<void> {
      await this.quota.decideCreate(parseCreateCommand(payload));
    }

    // A Failed store keeps its slot: it still runs (for its owner to inspect) until it is deleted.
    @EventPattern(subjects.deleted)
    async deleted(@Payload() payload: unknown): Promise<void> {
      await this.quota.release(parseStatusChange(payload), Step.DELETED);
    }
  }
  return QuotaController;
}

/** A command that can never be decided is poison: it is dead-lettered rather than retried. */
export function parseCreateCommand(payload: unknown): CreateStoreCommand {
  return decodePayload('CreateStoreCommand', () => decode(CreateStoreCommandSchema, payload), [
    'storeId',
    'name',
    'owner',
    'engine',
  ]);
}

/** The owner names the ledger key whose slot an end frees: without it, the end could only be misfiled. */
export function parseStatusChange(payload: unknown): StoreStatusChanged {
  return decodePayload('StoreStatusChanged', () => decode(StoreStatusChangedSchema, payload), ['storeId', 'owner']);
}
