import { applyDecorators, UseInterceptors } from '@nestjs/common';
import { ApiHeader } from '@nestjs/swagger';
import { IDEMPOTENCY_KEY_HEADER, IdempotencyInterceptor, MAX_IDEMPOTENCY_KEY_LENGTH } from './idempotency.interceptor';

/** The handler honours `Idempotency-Key` (POST and DELETE): a retry gets the first answer again. */
export const Idempotent = (): MethodDecorator & ClassDecorator =>
  applyDecorators(
    ApiHeader({
      name: IDEMPOTENCY_KEY_HEADER,
      required: false,
      description: `Up to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters; a retry with the same key and body gets the first answer, another body gets 422`,
    }),
    UseInterceptors(IdempotencyInterceptor),
  );
