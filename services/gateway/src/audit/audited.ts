import {
  CallHandler,
  ExecutionContext,
  Inject,
  Injectable,
  NestInterceptor,
  SetMetadata,
  UseInterceptors,
  applyDecorators,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Counter, Registry } from 'prom-client';
import { Observable, tap } from 'rxjs';
import { describeError, refusalReason } from '../http/http-exception.filter';
import { originOf } from '../http/request-context';
import { AuditLog } from './audit.service';

const AUDIT_ACTION = 'urumi:audit-action';

/** The count of state-changing requests answered: one per process, whichever module's interceptor counts. */
@Injectable()
export class StoreRequestMetrics {
  private readonly requests: Counter;

  constructor(@Inject(Registry) registry: Registry) {
    this.requests = new Counter({
      name: 'urumi_store_requests_total',
      help: 'State-changing store requests answered, by action (store.create, store.delete), outcome (accepted, rejected) and reason of a rejection',
      labelNames: ['action', 'outcome', 'reason'],
      registers: [registry],
    });
  }

  accepted(action: string): void {
    this.requests.inc({ action, outcome: 'accepted', reason: '' });
  }

  rejected(action: string, error: unknown): void {
    this.requests.inc({ action, outcome: 'rejected', reason: refusalReason(error) });
  }
}

/**
 * Records every answer of a state-changing handler, refusals included, in the audit trail, and counts it: a request
 * turned away before its handler (no token: 401, over a rate limit: 429) is neither audited nor counted here, nor is a
 * retry answered from the idempotency store (urumi_idempotency_replays_total counts those).
 */
@Injectable()
export class AuditInterceptor implements NestInterceptor {
  constructor(
    private readonly audit: AuditLog,
    private readonly reflector: Reflector,
    private readonly metrics: StoreRequestMetrics,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const action = this.reflector.get<string | undefined>(AUDIT_ACTION, context.getHandler());
    const req = context.switchToHttp().getRequest<FastifyRequest>();
    const res = context.switchToHttp().getResponse<FastifyReply>();
    const principal = req.principal;
    if (!action || !principal) return next.handle();
    const record = (statusCode: number, body?: unknown) => {
      const store = (body ?? {}) as { id?: string; name?: string };
      const requested = (req.body ?? {}) as { name?: unknown };
      void this.audit.record({
        ...originOf(req, principal),
        action,
        storeId: store.id ?? (req.params as { id?: string }).id ?? '',
        storeName: store.name ?? (typeof requested.name === 'string' ? requested.name : ''),
        statusCode,
      });
    };
    return next.handle().pipe(
      tap({
        next: (body) => {
          record(res.statusCode, body);
          this.metrics.accepted(action);
        },
        error: (error: unknown) => {
          record(describeError(error)[0]);
          this.metrics.rejected(action, error);
        },
      }),
    );
  }
}

export function Audited(action: string): MethodDecorator {
  return applyDecorators(SetMetadata(AUDIT_ACTION, action), UseInterceptors(AuditInterceptor));
}
