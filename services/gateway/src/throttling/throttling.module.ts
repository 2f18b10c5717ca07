import {
  CallHandler,
  DynamicModule,
  ExecutionContext,
  Inject,
  Injectable,
  Module,
  NestInterceptor,
} from '@nestjs/common';
import { APP_GUARD, APP_INTERCEPTOR, Reflector } from '@nestjs/core';
import { ThrottlerOptions, ThrottlerStorage } from '@nestjs/throttler';
import { buckets } from '@urumi/contracts';
import { KeyValueBuckets } from '@urumi/messaging';
import { sourceKey } from '@urumi/runtime';
import type { FastifyRequest } from 'fastify';
import { Counter, Registry } from 'prom-client';
import { from, Observable, switchMap } from 'rxjs';
import { NatsKvThrottlerStorage } from './nats-kv-throttler.storage';
import { CREATE_RATE_LIMIT, THROTTLERS } from './rate-limit.decorators';
import { RateLimitStage } from './rate-limit.stage';
import { DEFAULT_EXEMPT_PATHS, THROTTLING_CONFIG, ThrottlingConfig } from './throttling.config';

const MINUTE_MS = 60_000;
const IP_STAGE = Symbol('IP_RATE_LIMIT_STAGE');
const USER_STAGE = Symbol('USER_RATE_LIMIT_STAGE');
const ON_REFUSED = Symbol('RATE_LIMIT_ON_REFUSED');
type OnRefused = (throttler: string) => void;

const DESCRIPTIONS = {
  [THROTTLERS.ip]: 'requests per IP address',
  [THROTTLERS.user]: 'requests per user',
  [THROTTLERS.creates]: 'creations per user',
};

export interface TrackedRequest {
  readonly ip?: string;
  readonly principal?: FastifyRequest['principal'];
}

/** The client's source as quota counts it too (IPv6 per /64; no address is a source of its own). */
export function clientIp(req: TrackedRequest): string {
  return sourceKey(req.ip);
}

/** Whom the per-user limits count: the user, or the IP address when no one is signed in. */
export function userTracker(req: TrackedRequest): string {
  return req.principal ? `user:${req.principal.name}` : `ip:${clientIp(req)}`;
}

/** One counter per throttler and user (or IP) across all routes, not one per route as the library's default key. */
export function rateLimitKey(throttler: string, tracker: string): string {
  return `${throttler}:${tracker}`;
}

/** The per-user limits run here rather than in a guard: interceptors run after every guard, so the principal is known. */
@Injectable()
export class UserRateLimitInterceptor implements NestInterceptor {
  constructor(@Inject(USER_STAGE) private readonly stage: RateLimitStage) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return from(this.stage.canActivate(context)).pipe(switchMap(() => next.handle()));
  }
}

async function createStage(
  throttlers: ThrottlerOptions[],
  storage: ThrottlerStorage,
  reflector: Reflector,
  config: ThrottlingConfig,
  onRefused: OnRefused,
): Promise<RateLimitStage> {
  const stage = new RateLimitStage(
    {
      throttlers,
      generateKey: (_context, tracker, name) => rateLimitKey(name, tracker),
    },
    storage,
    reflector,
    { exemptPaths: new Set(config.exemptPaths ?? DEFAULT_EXEMPT_PATHS), describe: DESCRIPTIONS, onRefused },
  );
  await stage.onModuleInit();
  return stage;
}

/**
 * Rate limits shared by every gateway replica (counters in the JetStream KV bucket `rate-limits`):
 * per client IP, checked before authentication so that bad tokens count too when this module is
 * imported before AuthModule; per user; and per user for handlers marked @CreateRateLimit().
 */
@Module({})
export class ThrottlingModule {
  static forRoot(config: ThrottlingConfig): DynamicModule {
    return {
      module: ThrottlingModule,
      global: true,
      providers: [
        { provide: THROTTLING_CONFIG, useValue: config },
        {
          provide: ON_REFUSED,
          inject: [{ token: Registry, optional: true }],
          useFactory: (registry?: Registry): OnRefused => {
            if (!registry) return () => undefined;
            const refusals = new Counter({
              name: 'urumi_rate_limit_refusals_total',
              help: 'Requests answered 429 by a rate limit, by throttler (ip, user, creates)',
              labelNames: ['throttler'],
              registers: [registry],
            });
            return (throttler) => refusals.inc({ throttler });
          },
        },
        {
          provide: ThrottlerStorage,
          inject: [KeyValueBuckets],
          useFactory: (kvBuckets: KeyValueBuckets) =>
            NatsKvThrottlerStorage.open(kvBuckets, config.bucket ?? buckets.rateLimits, { ttlMs: 2 * MINUTE_MS }),
        },
        {
          provide: IP_STAGE,
          inject: [ThrottlerStorage, Reflector, ON_REFUSED],
          useFactory: (storage: ThrottlerStorage, reflector: Reflector, onRefused: OnRefused) =>
            createStage(
              [
                {
                  name: THROTTLERS.ip,
                  limit: config.ipPerMinute,
                  ttl: MINUTE_MS,
                  blockDuration: 0,
                  getTracker: clientIp,
                },
              ],
              storage,
              reflector,
              config,
              onRefused,
            ),
        },
        {
          provide: USER_STAGE,
          inject: [ThrottlerStorage, Reflector, ON_REFUSED],
          useFactory: (storage: ThrottlerStorage, reflector: Reflector, onRefused: OnRefused) =>
            createStage(
              [
                {
                  name: THROTTLERS.user,
                  limit: config.userPerMinute,
                  ttl: MINUTE_MS,
                  blockDuration: 0,
                  getTracker: userTracker,
                },
                {
                  name: THROTTLERS.creates,
                  limit: config.createsPerMinute,
                  ttl: MINUTE_MS,
                  blockDuration: 0,
                  getTracker: userTracker,
                  skipIf: (context) =>
                    !reflector.getAllAndOverride<boolean | undefined>(CREATE_RATE_LIMIT, [
                      context.getHandler(),
                      context.getClass(),
                    ]),
                },
              ],
              storage,
              reflector,
              config,
              onRefused,
            ),
        },
        { provide: APP_GUARD, inject: [IP_STAGE], useFactory: (stage: RateLimitStage) => stage },
        { provide: APP_INTERCEPTOR, useClass: UserRateLimitInterceptor },
      ],
      exports: [ThrottlerStorage, THROTTLING_CONFIG],
    };
  }
}
