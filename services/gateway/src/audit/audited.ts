import {
  CallHandler,
  ExecutionContext,
  Injectable,
  NestInterceptor,
  SetMetadata,
  UseInterceptors,
  applyDecorators,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { Observable, tap } from 'rxjs';
import { Principal } from '../auth';
import { describeError } from '../http/http-exception.filter';
import { originOf } from '../http/request-context';
import { AuditLog } from './audit.service';

const AUDIT_ACTION = 'urumi:audit-action';

/** Records every answer of a state-changing handler, refusals included, in the audit trail. */
@Injectable()
export class AuditInterceptor implements NestInterceptor {
  constructor(
    private readonly audit: AuditLog,
    private readonly reflector: Reflector,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const action = this.reflector.get<string | undefined>(AUDIT_ACTION, context.getHandler());
    const req = context.switchToHttp().getRequest<Request & { principal?: Principal }>();
    const res = context.switchToHttp().getResponse<Response>();
    const principal = req.principal;
    if (!action || !principal) return next.handle();
    const record = (statusCode: number, body?: unknown) => {
      const store = (body ?? {}) as { id?: string; name?: string };
      const requested = (req.body ?? {}) as { name?: unknown };
      void this.audit.record({
        ...originOf(req, principal),
        action,
        storeId: store.id ?? String(req.params['id'] ?? ''),
        storeName: store.name ?? (typeof requested.name === 'string' ? requested.name : ''),
        statusCode,
      });
    };
    return next.handle().pipe(
      tap({
        next: (body) => record(res.statusCode, body),
        error: (error: unknown) => record(describeError(error)[0]),
      }),
    );
  }
}

export function Audited(action: string): MethodDecorator {
  return applyDecorators(SetMetadata(AUDIT_ACTION, action), UseInterceptors(AuditInterceptor));
}
