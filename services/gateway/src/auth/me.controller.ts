import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import type * as api from '@urumi/contracts';
import { CurrentPrincipal } from './auth.decorators';
import { Principal, Role, ROLES } from './principal';

export class Me implements api.Me {
  @ApiProperty({ example: 'alice' }) name!: string;
  @ApiProperty({ enum: ROLES }) role!: Role;
}

@ApiTags('auth')
@ApiBearerAuth()
@Controller('api/v1/me')
export class MeController {
  @Get()
  @ApiOperation({ summary: 'Whom the token belongs to: the name and role the gateway acts for' })
  @ApiOkResponse({ type: Me })
  me(@CurrentPrincipal() principal: Principal): Me {
    return { name: principal.name, role: principal.role };
  }
}
