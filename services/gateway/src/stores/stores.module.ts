import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { ReadModelModule } from '../read-model/read-model.module';
import { StoresController } from './stores.controller';
import { StoresService } from './stores.service';
import { StoreViewCache } from './store-view.cache';

@Module({
  imports: [ReadModelModule, AuditModule],
  controllers: [StoresController],
  providers: [StoresService, StoreViewCache],
  exports: [StoreViewCache],
})
export class StoresModule {}
