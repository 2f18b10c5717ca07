import 'reflect-metadata';
import { Controller, DynamicModule, Get, HttpCode, Inject, Module, Post, Res } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { CannedResponse, CannedResponses } from './canned';

const RESPONSES = Symbol('CANNED_RESPONSES');

/**
 * The gateway's three store routes in bare NestJS, on whichever HTTP adapter the app was created with: no guards,
 * interceptors or pipes, each answering the gateway's bytes (its status, headers and body) through the adapter.
 */
@Controller('api/v1/stores')
class FloorController {
  constructor(
    @Inject(RESPONSES) private readonly responses: CannedResponses,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  @Get()
  list(@Res({ passthrough: true }) res: unknown): string {
    return this.replay(res, this.responses.list);
  }

  @Get(':id')
  getOne(@Res({ passthrough: true }) res: unknown): string {
    return this.replay(res, this.responses.getOne);
  }

  @Post()
  @HttpCode(202)
  create(@Res({ passthrough: true }) res: unknown): string {
    return this.replay(res, this.responses.create);
  }

  private replay(res: unknown, response: CannedResponse): string {
    const adapter = this.adapterHost.httpAdapter;
    for (const [name, value] of response.headers) adapter.setHeader(res, name, value);
    return response.body;
  }
}

@Module({})
export class NestFloorModule {
  static answering(responses: CannedResponses): DynamicModule {
    return {
      module: NestFloorModule,
      controllers: [FloorController],
      providers: [{ provide: RESPONSES, useValue: responses }],
    };
  }
}
