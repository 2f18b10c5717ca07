export {
  canonicalJson,
  bodyFingerprint,
  IDEMPOTENCY_KEY_HEADER,
  IdempotencyInterceptor,
  idempotencyStoreKey,
  MAX_IDEMPOTENCY_KEY_LENGTH,
} from './idempotency.interceptor';
export { IdempotencyModule } from './idempotency.module';
export { IDEMPOTENCY_OPTIONS } from './idempotency.options';
export type { IdempotencyOptions } from './idempotency.options';
export { IdempotencyStore } from './idempotency.store';
export type { Claim, IdempotentRun, StoredAnswer } from './idempotency.store';
export { Idempotent } from './idempotent.decorator';
