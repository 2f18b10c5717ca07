import { DynamicModule, Module } from '@nestjs/common';
import { buckets } from '@urumi/contracts';
import { KeyValueBuckets } from '@urumi/messaging';
import { IdempotencyInterceptor } from './idempotency.interceptor';
import {
  DEFAULT_IDEMPOTENCY_TTL_MS,
  DEFAULT_PENDING_TIMEOUT_MS,
  IDEMPOTENCY_OPTIONS,
  IdempotencyOptions,
} from './idempotency.options';
import { IdempotencyStore } from './idempotency.store';

/** The store and interceptor behind @Idempotent(), answers kept in the JetStream KV bucket `idempotency`. */
@Module({})
export class IdempotencyModule {
  static forRoot(options: IdempotencyOptions = {}): DynamicModule {
    return {
      module: IdempotencyModule,
      global: true,
      providers: [
        { provide: IDEMPOTENCY_OPTIONS, useValue: options },
        {
          provide: IdempotencyStore,
          inject: [KeyValueBuckets],
          useFactory: (kvBuckets: KeyValueBuckets) =>
            IdempotencyStore.open(kvBuckets, options.bucket ?? buckets.idempotency, {
              ttlMs: options.ttlMs ?? DEFAULT_IDEMPOTENCY_TTL_MS,
              pendingTimeoutMs: options.pendingTimeoutMs ?? DEFAULT_PENDING_TIMEOUT_MS,
            }),
        },
        IdempotencyInterceptor,
      ],
      exports: [IDEMPOTENCY_OPTIONS, IdempotencyStore, IdempotencyInterceptor],
    };
  }
}
