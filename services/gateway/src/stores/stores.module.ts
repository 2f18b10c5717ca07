import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { ReadModelModule } from '../read-model/read-model.module';
import { StoresController } from './stores.controller';
import { StoresService } from './stores.service';
import { StoreViews } from './store-views';

@Module({
  imports: [ReadModelModule, AuditModule],
  controllers: [StoresController],
  providers: [StoresService, StoreViews],
  exports: [StoreViews],
})
export class StoresModule {}
