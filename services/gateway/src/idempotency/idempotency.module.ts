import { DynamicModule, Module } from '@nestjs/common';
import { buckets } from '@urumi/contracts';
import { KeyValueBuckets } from '@urumi/messaging';
import { Counter, Registry } from 'prom-client';
import { IdempotencyInterceptor } from './idempotency.interceptor';
import {
  DEFAULT_IDEMPOTENCY_TTL_MS,
  CountReplay,
  DEFAULT_PENDING_TIMEOUT_MS,
  IDEMPOTENCY_OPTIONS,
  IDEMPOTENCY_REPLAYS,
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
          provide: IDEMPOTENCY_REPLAYS,
          inject: [{ token: Registry, optional: true }],
          useFactory: (registry?: Registry): CountReplay => {
            if (!registry) return () => undefined;
            const replays = new Counter({
              name: 'urumi_idempotency_replays_total',
              help: 'Retries answered with the answer kept for their Idempotency-Key, the handler not run again',
              registers: [registry],
            });
            return () => replays.inc();
          },
        },
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
      exports: [IDEMPOTENCY_OPTIONS, IDEMPOTENCY_REPLAYS, IdempotencyStore, IdempotencyInterceptor],
    };
  }
}
