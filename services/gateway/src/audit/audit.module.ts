import { Module } from '@nestjs/common';
import { AuditController } from './audit.controller';
import { AuditLog } from './audit.service';
import { AuditInterceptor } from './audited';

@Module({
  controllers: [AuditController],
  providers: [AuditLog, AuditInterceptor],
  exports: [AuditLog, AuditInterceptor],
})
export class AuditModule {}
