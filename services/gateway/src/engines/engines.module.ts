import { DynamicModule, Module } from '@nestjs/common';
import { ENGINES_CONFIG, EnginesConfig } from './engines.config';
import { EnginesController } from './engines.controller';
import { EnginesService } from './engines.service';

/** GET /api/v1/engines: what a store can run on, and which engines this cluster only simulates (SIMULATED_ENGINES). */
@Module({})
export class EnginesModule {
  static forRoot(config: EnginesConfig): DynamicModule {
    return {
      module: EnginesModule,
      controllers: [EnginesController],
      providers: [{ provide: ENGINES_CONFIG, useValue: config }, EnginesService],
    };
  }
}
