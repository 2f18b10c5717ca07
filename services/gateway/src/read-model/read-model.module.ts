import { Module } from '@nestjs/common';
import { NATS_CONNECTION } from '@urumi/messaging';
import { NatsConnection } from 'nats';
import { ProjectorController } from './projector.controller';
import { ReadModel } from './read-model.service';
import { StoreRepository } from './store.repository';

/** The stores as the API reads them: the KV read model, its in-memory view, and the projector that feeds it. */
@Module({
  controllers: [ProjectorController],
  providers: [
    {
      provide: StoreRepository,
      inject: [NATS_CONNECTION],
      useFactory: (nc: NatsConnection) => new StoreRepository(nc),
    },
    ReadModel,
  ],
  exports: [StoreRepository, ReadModel],
})
export class ReadModelModule {}
