import { ExecutionContext, HttpException, HttpStatus } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ThrottlerGuard, ThrottlerModuleOptions, ThrottlerRequest, ThrottlerStorage } from '@nestjs/throttler';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { pathOf } from '../http/request-context';

/** What one throttler allowed for this request: the source of the RateLimit headers. */
export interface RateLimitUsage {
  readonly name: string;
  readonly limit: number;
  readonly windowSeconds: number;
  readonly remaining: number;
  /** Seconds until the window (or the block) ends. */
  readonly resetSeconds: number;
}

const USAGE = Symbol('urumi:rate-limit-usage');
type RequestWithUsage = FastifyRequest & { [USAGE]?: RateLimitUsage[] };

const STORAGE_WARNING_INTERVAL_MS = 30_000;

export class RateLimitExceededException extends HttpException {
  constructor(message: string) {
    super(
      { statusCode: HttpStatus.TOO_MANY_REQUESTS, error: 'Too Many Requests', message },
      HttpStatus.TOO_MANY_REQUESTS,
    );
  }
}

export interface RateLimitStageOptions {
  readonly exemptPaths: ReadonlySet<string>;
  /** How each throttler's limit reads in a 429 message: "requests per user". */
  readonly describe: Readonly<Record<string, string>>;
  /** Told of each request refused, with the throttler that refused it. */
  readonly onRefused?: (throttler: string) => void;
}

/**
 * A ThrottlerGuard over some of the throttlers, answering with the IETF RateLimit headers
 * (draft-ietf-httpapi-ratelimit-headers) instead of X-RateLimit-*. The gateway runs two: the per-IP one as
 * a guard and the per-user ones from an interceptor, after authentication has named the user.
 */
export class RateLimitStage extends ThrottlerGuard {
  private lastStorageWarning = 0;

  constructor(
    options: ThrottlerModuleOptions,
    storage: ThrottlerStorage,
    reflector: Reflector,
    private readonly stage: RateLimitStageOptions,
  ) {
    super(options, storage, reflector);
  }

  protected override async shouldSkip(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    return this.stage.exemptPaths.has(pathOf(context.switchToHttp().getRequest<FastifyRequest>()));
  }

  protected override async handleRequest({
    context,
    limit,
    ttl,
    throttler,
    blockDuration,
    getTracker,
    generateKey,
  }: ThrottlerRequest): Promise<boolean> {
    const req = context.switchToHttp().getRequest<RequestWithUsage>();
    const res = context.switchToHttp().getResponse<FastifyReply>();
    const name = throttler.name ?? 'default';
    const key = generateKey(context, await getTracker(req, context), name);
    let record: Awaited<ReturnType<ThrottlerStorage['increment']>>;
    try {
      record = await this.storageService.increment(key, ttl, limit, blockDuration, name);
    } catch (error) {
      // Fail open: an unreachable counter store must not take the API down with it.
      this.warnStorageFailure(error);
      return true;
    }
    const usage: RateLimitUsage = {
      name,
      limit,
      windowSeconds: Math.ceil(ttl / 1000),
      remaining: Math.max(0, limit - record.totalHits),
      resetSeconds: record.isBlocked ? record.timeToBlockExpire : record.timeToExpire,
    };
    const usages = (req[USAGE] ??= []);
    usages.push(usage);
    if (record.isBlocked) {
      writeHeaders(res, usages, usage);
      void res.header('Retry-After', String(record.timeToBlockExpire));
      this.stage.onRefused?.(name);
      const what = this.stage.describe[name] ?? `requests (${name})`;
      throw new RateLimitExceededException(
        `rate limit exceeded: at most ${limit} ${what} per ${window(ttl)}; try again in ${record.timeToBlockExpire} s`,
      );
    }
    writeHeaders(res, usages);
    return true;
  }

  private warnStorageFailure(error: unknown): void {
    const now = Date.now();
    if (now - this.lastStorageWarning < STORAGE_WARNING_INTERVAL_MS) return;
    this.lastStorageWarning = now;
    this.logger.warn({ msg: 'Rate-limit counters unavailable; requests pass unlimited', error: String(error) });
  }
}

/** The limit closest to running out (or the one exceeded), and every policy that applied. */
function writeHeaders(res: FastifyReply, usages: readonly RateLimitUsage[], exceeded?: RateLimitUsage): void {
  const shown =
    exceeded ??
    usages.reduce((tightest, usage) =>
      usage.remaining < tightest.remaining ||
      (usage.remaining === tightest.remaining && usage.resetSeconds > tightest.resetSeconds)
        ? usage
        : tightest,
    );
  void res.headers({
    'RateLimit-Limit': String(shown.limit),
    'RateLimit-Remaining': String(shown.remaining),
    'RateLimit-Reset': String(shown.resetSeconds),
    'RateLimit-Policy': usages
      .map((usage) => `${usage.limit};w=${usage.windowSeconds};comment="${usage.name}"`)
      .join(', '),
  });
}

function window(ttlMs: number): string {
  return ttlMs === 60_000 ? 'minute' : `${Math.ceil(ttlMs / 1000)} s`;
}
