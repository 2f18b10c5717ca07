import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { ReadModelModule } from '../read-model/read-model.module';
import { StoresController } from './stores.controller';
import { StoresService } from './stores.service';
import { StoreUrls } from './store-urls';

@Module({
  imports: [ReadModelModule, AuditModule],
  controllers: [StoresController],
  providers: [StoresService, StoreUrls],
  exports: [StoreUrls],
})
export class StoresModule {}
