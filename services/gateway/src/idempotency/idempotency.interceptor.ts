import {
  BadRequestException,
  CallHandler,
  ConflictException,
  ExecutionContext,
  HttpException,
  Inject,
  Injectable,
  Logger,
  NestInterceptor,
  ServiceUnavailableException,
  UnprocessableEntityException,
} from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { createHash } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import { catchError, concatMap, from, Observable, of, switchMap, throwError } from 'rxjs';
import { CountReplay, IDEMPOTENCY_OPTIONS, IDEMPOTENCY_REPLAYS, IdempotencyOptions } from './idempotency.options';
import { pathOf } from '../http/request-context';
import { Claim, IdempotencyStore, IdempotentRun, StoredAnswer } from './idempotency.store';

declare module 'fastify' {
  interface FastifyRequest {
    /** For a request with an Idempotency-Key, the run of it that the handler is: what it creates, and whether it resumes. */
    idempotentRun?: IdempotentRun;
  }
}

export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * `Idempotency-Key` on state-changing requests: the first answer (status, body, Location; a 4xx too) is
 * kept for 24 h and replayed to every retry with the same body, without running the handler again. The
 * same key with another body is 422; a retry while the first request still runs is 409; a 5xx is not
 * kept, so a retry can succeed.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  private readonly logger = new Logger(IdempotencyInterceptor.name);

  constructor(
    private readonly store: IdempotencyStore,
    @Inject(IDEMPOTENCY_OPTIONS) private readonly options: IdempotencyOptions,
    @Inject(IDEMPOTENCY_REPLAYS) private readonly countReplay: CountReplay,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const req = context.switchToHttp().getRequest<FastifyRequest>();
    const res = context.switchToHttp().getResponse<FastifyReply>();
    const header = req.headers[IDEMPOTENCY_KEY_HEADER.toLowerCase()];
    if (header === undefined || SAFE_METHODS.has(req.method)) return next.handle();
    const idempotencyKey = Array.isArray(header) ? header.join(', ') : header;
    if (idempotencyKey.length === 0 || idempotencyKey.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
      return throwError(
        () =>
          new BadRequestException(
            `${IDEMPOTENCY_KEY_HEADER} must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters long`,
          ),
      );
    }
    const caller = req.principal?.name ?? `anonymous@${req.ip ?? 'unknown'}`;
    const key = idempotencyStoreKey(caller, req.method, pathOf(req), idempotencyKey);
    const fingerprint = bodyFingerprint(req.body);
    const quoted = JSON.stringify(idempotencyKey);

    return from(this.claim(key, fingerprint)).pipe(
      switchMap((claim) => {
        if (claim.kind !== 'claimed' && claim.fingerprint !== fingerprint) {
          throw new UnprocessableEntityException(
            `${IDEMPOTENCY_KEY_HEADER} ${quoted} was used with a different request body`,
          );
        }
        if (claim.kind === 'in-progress') {
          void res.header('Retry-After', '1');
          throw new ConflictException(
            `a request with ${IDEMPOTENCY_KEY_HEADER} ${quoted} is still in progress; retry it later`,
          );
        }
        if (claim.kind === 'done') return this.replay(claim.answer, res);
        req.idempotentRun = { resourceId: claim.resourceId, resumed: claim.resumed };
        return this.run(next, res, key, claim, fingerprint);
      }),
    );
  }

  private async claim(key: string, fingerprint: string): Promise<Claim> {
    try {
      return await this.store.claim(key, fingerprint);
    } catch (error) {
      this.logger.error({ msg: 'Idempotency store unavailable', error: String(error) });
      throw new ServiceUnavailableException(`${IDEMPOTENCY_KEY_HEADER} cannot be honoured right now; retry later`);
    }
  }

  private replay(answer: StoredAnswer, res: FastifyReply): Observable<unknown> {
    this.countReplay();
    void res.header('Idempotent-Replayed', 'true');
    if (answer.refusal) {
      return throwError(() => new HttpException(answer.body as Record<string, unknown> | string, answer.status));
    }
    void res.status(answer.status);
    if (answer.location !== undefined) void res.header('Location', answer.location);
    return of(answer.body);
  }

  private run(
    next: CallHandler,
    res: FastifyReply,
    key: string,
    claim: Extract<Claim, { kind: 'claimed' }>,
    fingerprint: string,
  ): Observable<unknown> {
    return next.handle().pipe(
      concatMap(async (body: unknown) => {
        const location = res.getHeader('Location');
        await this.keep(key, claim.revision, fingerprint, {
          status: res.statusCode,
          body: body === undefined ? null : (JSON.parse(JSON.stringify(body)) as unknown),
          ...(typeof location === 'string' ? { location } : {}),
          refusal: false,
        });
        return body;
      }),
      catchError((error: unknown) =>
        from(this.settleFailure(error, key, claim, fingerprint)).pipe(switchMap(() => throwError(() => error))),
      ),
    );
  }

  private async settleFailure(
    error: unknown,
    key: string,
    claim: Extract<Claim, { kind: 'claimed' }>,
    fingerprint: string,
  ): Promise<void> {
    const refusal = this.refusalOf(error);
    if (refusal) {
      await this.keep(key, claim.revision, fingerprint, refusal);
      return;
    }
    await this.store.release(key, claim.revision, fingerprint, claim.resourceId).catch((releaseError: unknown) => {
      this.logger.warn({
        msg: 'Could not release an idempotency key; retries wait for it to expire',
        error: String(releaseError),
      });
    });
  }

  /** A 4xx, as it would be replayed; undefined for anything else (a 5xx is not kept). */
  private refusalOf(error: unknown): StoredAnswer | undefined {
    if (error instanceof HttpException) {
      const status = error.getStatus();
      return isClientError(status) ? { status, body: error.getResponse(), refusal: true } : undefined;
    }
    const described = this.options.describeError?.(error);
    if (!described || !isClientError(described[0])) return undefined;
    const [status, message] = described;
    return { status, body: { statusCode: status, error: STATUS_CODES[status] ?? 'Error', message }, refusal: true };
  }

  /** The answer goes out even when it can't be kept: retries then see the claim until it times out, and run again. */
  private async keep(key: string, revision: number, fingerprint: string, answer: StoredAnswer): Promise<void> {
    await this.store.complete(key, revision, fingerprint, answer).catch((error: unknown) => {
      this.logger.error({ msg: 'Could not keep an idempotent answer', status: answer.status, error: String(error) });
    });
  }
}

function isClientError(status: number): boolean {
  return status >= 400 && status < 500;
}

/** Where an answer is kept: per caller, method and path, hashed as KV keys allow only `[-/_=.A-Za-z0-9]`. */
export function idempotencyStoreKey(caller: string, method: string, path: string, idempotencyKey: string): string {
  return sha256(JSON.stringify([caller, method, path, idempotencyKey]));
}

export function bodyFingerprint(body: unknown): string {
  return sha256(canonicalJson(body ?? null));
}

function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

/** JSON with object keys sorted, so that `{a, b}` and `{b, a}` are the same body. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) =>
    typeof item === 'object' && item !== null && !Array.isArray(item)
      ? Object.fromEntries(
          Object.entries(item as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : item,
  );
}
