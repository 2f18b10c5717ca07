import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { PlatformView } from '@urumi/contracts';
import { Roles } from '../auth';
import { ApiErrors } from '../http/openapi';
import { PlatformOverview } from './platform.service';

@ApiTags('platform')
@ApiBearerAuth()
@Roles('admin')
@Controller('api/v1/platform')
export class PlatformController {
  constructor(private readonly overview: PlatformOverview) {}

  @Get()
  @ApiOperation({
    summary:
      "The platform at a glance (admins only): stores by step, the stages' queues and recent failures from the read " +
      "model; the gateway's consumer lag and the dead letters from NATS (null if NATS did not answer)",
  })
  @ApiOkResponse({ description: 'the figures, as of now' })
  @ApiErrors(401, 403, 429, 503)
  view(): Promise<PlatformView> {
    return this.overview.view();
  }
}
