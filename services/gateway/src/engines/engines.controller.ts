import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '../http/openapi';
import { EngineView } from './engine-view.dto';
import { EnginesService } from './engines.service';

export const ENGINES_PATH = 'api/v1/engines';

@ApiTags('engines')
@ApiBearerAuth()
@Controller(ENGINES_PATH)
export class EnginesController {
  constructor(private readonly engines: EnginesService) {}

  @Get()
  @ApiOperation({
    summary: 'The engines a store can be created with, and whether their stores run for real on this cluster',
  })
  @ApiOkResponse({ type: EngineView, isArray: true })
  @ApiErrors(401, 429, 503)
  list(): readonly EngineView[] {
    return this.engines.list();
  }
}
