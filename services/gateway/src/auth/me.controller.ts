import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import type * as api from '@urumi/contracts';
import { CurrentPrincipal } from './auth.decorators';
import { Principal, Role, ROLES } from './principal';
import { ApiErrors } from '../http/openapi';

export class Me implements api.Me {
  @ApiProperty({ example: 'alice' }) name!: string;
  @ApiProperty({ enum: ROLES }) role!: Role;
  @ApiPropertyOptional({ example: 'Alice', description: 'what to call the user, when the identity provider says' })
  displayName?: string;
}

@ApiTags('auth')
@ApiBearerAuth()
@Controller('api/v1/me')
export class MeController {
  @Get()
  @ApiOperation({ summary: 'Whom the token belongs to: the name and role the gateway acts for' })
  @ApiOkResponse({ type: Me })
  @ApiErrors(401, 429, 503)
  me(@CurrentPrincipal() principal: Principal): Me {
    const { name, role, displayName } = principal;
    return displayName === undefined ? { name, role } : { name, role, displayName };
  }
}
