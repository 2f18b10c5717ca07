export { countHit, NatsKvThrottlerStorage } from './nats-kv-throttler.storage';
export type { Counter, KvThrottlerStorageOptions } from './nats-kv-throttler.storage';
export { CreateRateLimit, SkipRateLimit, THROTTLERS } from './rate-limit.decorators';
export { RateLimitExceededException } from './rate-limit.stage';
export { DEFAULT_EXEMPT_PATHS, THROTTLING_CONFIG, throttlingConfigFromEnv } from './throttling.config';
export type { ThrottlingConfig } from './throttling.config';
export { clientIp, rateLimitKey, ThrottlingModule, userTracker, UserRateLimitInterceptor } from './throttling.module';
export type { TrackedRequest } from './throttling.module';
