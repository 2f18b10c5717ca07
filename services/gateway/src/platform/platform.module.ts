import { Module } from '@nestjs/common';
import { ReadModelModule } from '../read-model/read-model.module';
import { PlatformController } from './platform.controller';
import { PlatformOverview } from './platform.service';

/** The console's platform page: GET /api/v1/platform. */
@Module({
  imports: [ReadModelModule],
  controllers: [PlatformController],
  providers: [PlatformOverview],
})
export class PlatformModule {}
