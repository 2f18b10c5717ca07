import { DynamicModule, Module } from '@nestjs/common';
import { ReadModelModule } from '../read-model/read-model.module';
import { StoresModule } from '../stores/stores.module';
import { LIVE_CONFIG, LiveConfig } from './live.config';
import { LiveStatusServer } from './live-status.server';

@Module({})
export class LiveModule {
  static forRoot(config: LiveConfig): DynamicModule {
    return {
      module: LiveModule,
      imports: [ReadModelModule, StoresModule],
      providers: [{ provide: LIVE_CONFIG, useValue: config }, LiveStatusServer],
    };
  }
}
