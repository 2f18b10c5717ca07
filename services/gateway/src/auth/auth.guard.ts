import {
  CanActivate,
  ExecutionContext,
  ForbiddenException,
  Inject,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { pathOf } from '../http/request-context';
import { AUTH_CONFIG, AuthConfig, DEFAULT_PUBLIC_PATHS } from './auth.config';
import { IS_PUBLIC, REQUIRED_ROLES } from './auth.decorators';
import { Authenticator } from './authenticator';
import { Role } from './principal';

const BEARER = /^Bearer +(\S+) *$/i;
const CHALLENGE = 'Bearer realm="urumi"';

/**
 * Every HTTP route needs `Authorization: Bearer <token>` unless it is @Public() or a configured public
 * path; @Roles() then narrows it to some roles. The principal is kept on the request for what follows.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  private readonly publicPaths: ReadonlySet<string>;

  constructor(
    private readonly authenticator: Authenticator,
    private readonly reflector: Reflector,
    @Inject(AUTH_CONFIG) config: AuthConfig,
  ) {
    this.publicPaths = new Set(config.publicPaths ?? DEFAULT_PUBLIC_PATHS);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    // Global guards also see the JetStream handlers of a hybrid app: those are not for this guard.
    if (context.getType() !== 'http') return true;
    const targets = [context.getHandler(), context.getClass()];
    const req = context.switchToHttp().getRequest<FastifyRequest>();
    if (
      this.reflector.getAllAndOverride<boolean | undefined>(IS_PUBLIC, targets) ||
      this.publicPaths.has(pathOf(req))
    ) {
      return true;
    }
    const res = context.switchToHttp().getResponse<FastifyReply>();
    const header = req.headers.authorization;
    const token = header === undefined ? undefined : BEARER.exec(header)?.[1];
    if (!token) {
      void res.header('WWW-Authenticate', CHALLENGE);
      throw new UnauthorizedException(
        header === undefined
          ? 'a bearer token is required (Authorization: Bearer <token>)'
          : 'the Authorization header must be "Bearer <token>"',
      );
    }
    try {
      req.principal = await this.authenticator.authenticate(token);
    } catch (error) {
      if (error instanceof UnauthorizedException)
        void res.header('WWW-Authenticate', `${CHALLENGE}, error="invalid_token"`);
      throw error;
    }
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(REQUIRED_ROLES, targets);
    if (roles && !roles.includes(req.principal.role)) {
      throw new ForbiddenException(
        `this needs the ${roles.join(' or ')} role; ${req.principal.name} is ${req.principal.role}`,
      );
    }
    return true;
  }
}
