import { Module } from '@nestjs/common';
import { AuditController } from './audit.controller';
import { AuditLog } from './audit.service';
import { AuditInterceptor, StoreRequestMetrics } from './audited';

@Module({
  controllers: [AuditController],
  providers: [AuditLog, AuditInterceptor, StoreRequestMetrics],
  exports: [AuditLog, AuditInterceptor, StoreRequestMetrics],
})
export class AuditModule {}
