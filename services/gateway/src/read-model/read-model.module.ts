import { Module } from '@nestjs/common';
import { KeyValueBuckets } from '@urumi/messaging';
import { ProjectorController } from './projector.controller';
import { ReadModelMetrics } from './read-model.metrics';
import { ReadModel } from './read-model.service';
import { StoreRepository } from './store.repository';

/** The stores as the API reads them: the KV read model, its in-memory view, and the projector that feeds it. */
@Module({
  controllers: [ProjectorController],
  providers: [
    {
      provide: StoreRepository,
      inject: [KeyValueBuckets],
      useFactory: (buckets: KeyValueBuckets) => StoreRepository.open(buckets),
    },
    ReadModel,
    ReadModelMetrics,
  ],
  exports: [StoreRepository, ReadModel],
})
export class ReadModelModule {}
