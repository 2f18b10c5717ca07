import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { Roles } from '../auth';
import type { AuditPage } from '@urumi/contracts';
import { AuditLog } from './audit.service';
import { ApiErrors } from '../http/openapi';

export class AuditQuery {
  @ApiPropertyOptional({ type: 'integer', default: 50, minimum: 1, maximum: 200 })
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: 'limit must be a whole number' })
  @Min(1, { message: 'limit must be at least 1' })
  @Max(200, { message: 'limit must be at most 200' })
  limit?: number;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, description: 'the `next` value of the previous page' })
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: 'before must be a sequence number' })
  @Min(1, { message: 'before must be a sequence number' })
  before?: number;
}

@ApiTags('audit')
@ApiBearerAuth()
@Roles('admin')
@Controller('api/v1/audit')
export class AuditController {
  constructor(private readonly audit: AuditLog) {}

  @Get()
  @ApiOperation({ summary: 'Who did what, when and from where: newest first, paged (admins only)' })
  @ApiOkResponse({ description: 'the entries, newest first, and `next` for the page before them' })
  @ApiErrors(400, 401, 403, 429, 503)
  page(@Query() query: AuditQuery): Promise<AuditPage> {
    return this.audit.page(query.limit ?? 50, query.before);
  }
}
