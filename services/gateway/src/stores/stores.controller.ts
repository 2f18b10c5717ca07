import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CurrentPrincipal, Principal } from '../auth';
import { CreateRateLimit } from '../throttling';
import { Idempotent } from '../idempotency';
import { originOf } from '../http/request-context';
import { CreateStoreDto } from './dto/create-store.dto';
import { ListStoresQuery } from './dto/list-stores.query';
import { stepFromSlug, StoreList, StoreView } from './dto/store-view.dto';
import { StoreViewCache } from './store-view.cache';
import { StoresService } from './stores.service';
import { ReadModel } from '../read-model/read-model.service';
import { Audited } from '../audit/audited';
import { ApiErrors } from '../http/openapi';

export const STORES_PATH = 'api/v1/stores';

@ApiTags('stores')
@ApiBearerAuth()
@Controller(STORES_PATH)
export class StoresController {
  constructor(
    private readonly stores: StoresService,
    private readonly readModel: ReadModel,
    private readonly views: StoreViewCache,
  ) {}

  @Post()
  @HttpCode(202)
  @Audited('store.create')
  @Idempotent()
  @CreateRateLimit()
  @ApiOperation({ summary: 'Request a new store; it is Queued at once and provisioned asynchronously' })
  @ApiAcceptedResponse({ type: StoreView })
  @ApiErrors(400, 401, 409, 413, 415, 422, 429, 503)
  async create(
    @Body() dto: CreateStoreDto,
    @CurrentPrincipal() principal: Principal,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) res: FastifyReply,
  ): Promise<StoreView> {
    const store = await this.stores.create(principal, dto, originOf(req, principal), req.idempotentRun);
    void res.header('Location', `/${STORES_PATH}/${store.id}`);
    return this.views.of(store);
  }

  @Get()
  @ApiOperation({ summary: 'Your stores (every store, for admins), newest first' })
  @ApiOkResponse({ type: StoreList })
  @ApiErrors(400, 401, 429, 503)
  async list(@Query() query: ListStoresQuery, @CurrentPrincipal() principal: Principal): Promise<StoreList> {
    await this.readModel.sync();
    const step = query.status === undefined ? undefined : stepFromSlug(query.status);
    const page = this.readModel.list(principal, { step, limit: query.limit ?? 100, after: query.after });
    const items = page.items.map(this.views.of);
    return page.next ? { items, next: page.next } : { items };
  }

  @Get(':id')
  @ApiOkResponse({ type: StoreView })
  @ApiErrors(401, 404, 429, 503)
  async get(@Param('id') id: string, @CurrentPrincipal() principal: Principal): Promise<StoreView> {
    return this.views.of(await this.stores.find(principal, id));
  }

  @Delete(':id')
  @HttpCode(202)
  @Audited('store.delete')
  @Idempotent()
  @ApiOperation({ summary: 'Delete a store; it shows Deleting until every trace of it is gone' })
  @ApiAcceptedResponse({ type: StoreView })
  @ApiErrors(400, 401, 404, 409, 422, 429, 503)
  async delete(
    @Param('id') id: string,
    @CurrentPrincipal() principal: Principal,
    @Req() req: FastifyRequest,
  ): Promise<StoreView> {
    return this.views.of(await this.stores.delete(principal, id, originOf(req, principal)));
  }
}
