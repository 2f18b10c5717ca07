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

    @EventPattern(subjects.deleted)
    async deleted(@Payload() payload: unknown): Promise<void> {
      await this.quota.release(parseStatusChange(payload), Step.DELETED);
    }

    @EventPattern(subjects.failed)
    async failed(@Payload() payload: unknown): Promise<void> {
      await this.quota.release(parseStatusChange(payload), Step.FAILED);
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

export function parseStatusChange(payload: unknown): StoreStatusChanged {
  return decodePayload('StoreStatusChanged', () => decode(StoreStatusChangedSchema, payload), ['storeId']);
}
