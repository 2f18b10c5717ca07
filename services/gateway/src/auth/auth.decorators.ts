import { createParamDecorator, CustomDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { Principal, Role } from './principal';

export const IS_PUBLIC = 'urumi:auth:public';
export const REQUIRED_ROLES = 'urumi:auth:roles';

/** The handler (or every handler of the controller) answers without a bearer token. */
export const Public = (): CustomDecorator => SetMetadata(IS_PUBLIC, true);

/** Only principals with one of these roles get through; the others get 403. */
export const Roles = (...roles: [Role, ...Role[]]): CustomDecorator => SetMetadata(REQUIRED_ROLES, roles);

/** The authenticated caller. Using it on a @Public() handler is a programming error. */
export const CurrentPrincipal = createParamDecorator((_data: unknown, context: ExecutionContext): Principal => {
  const principal = context.switchToHttp().getRequest<FastifyRequest>().principal;
  if (!principal) throw new Error('@CurrentPrincipal() needs an authenticated route (it is marked @Public())');
  return principal;
});
