import { Module } from '@nestjs/common';
import { ReadModelModule } from '../read-model/read-model.module';
import { StoresModule } from '../stores/stores.module';
import { LiveStatusServer } from './live-status.server';

@Module({
  imports: [ReadModelModule, StoresModule],
  providers: [LiveStatusServer],
})
export class LiveModule {}
