import { applyDecorators, HttpStatus } from '@nestjs/common';
import { ApiProperty, ApiResponse, OpenAPIObject, ReferenceObject, SchemaObject } from '@nestjs/swagger';
import { ErrorBody } from './http-exception.filter';

/** The body of every error answer (HttpExceptionFilter), as the OpenAPI document shows it. */
export class ErrorResponse implements ErrorBody {
  @ApiProperty({ type: 'integer', minimum: 400, maximum: 599, example: 400 }) statusCode!: number;
  @ApiProperty({ example: 'Bad Request' }) error!: string;
  @ApiProperty({ example: 'name must be 3–40 characters long' }) message!: string;
}

/** The error answers an operation can give. */
export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 422 | 429 | 503;

const WHEN: Readonly<Record<ErrorStatus, string>> = {
  400: 'the request is invalid; the message names the field and the rule',
  401: 'no bearer token, or one the gateway does not accept',
  403: "the token's role may not do this",
  404: 'no such store, or not one of yours',
  409: 'the name is taken, or a request with this Idempotency-Key is still in progress (see Retry-After)',
  413: 'the request body is larger than the gateway accepts',
  415: 'the request body is not UTF-8 JSON',
  422: 'this Idempotency-Key was used with a different request body',
  429: 'too many requests; Retry-After says when to try again',
  503: 'the event bus, the identity provider or the idempotency store is unavailable; retry shortly',
};

const RETRY_AFTER = { 'Retry-After': { description: 'seconds to wait', schema: { type: 'integer' } } } as const;

/** Documents each error status the operation can answer, with the error body. */
export function ApiErrors(...statuses: ErrorStatus[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...statuses.map((status) =>
      ApiResponse({
        status,
        description: WHEN[status],
        type: ErrorResponse,
        ...(status === HttpStatus.TOO_MANY_REQUESTS || status === HttpStatus.CONFLICT ? { headers: RETRY_AFTER } : {}),
      }),
    ),
  );
}

/**
 * What decorators cannot say: the validation pipe forbids unknown properties in every request body (and the
 * error body has no others), so their schemas close with `additionalProperties: false`.
 */
export function withClosedSchemas(document: OpenAPIObject): OpenAPIObject {
  const schemas = document.components?.schemas ?? {};
  const names = new Set([ErrorResponse.name]);
  for (const path of Object.values(document.paths)) {
    for (const operation of [path.post, path.put, path.patch, path.delete]) {
      const body = operation?.requestBody;
      const schema = body && 'content' in body ? body.content['application/json']?.schema : undefined;
      if (schema && '$ref' in schema) names.add(schema.$ref.slice(schema.$ref.lastIndexOf('/') + 1));
    }
  }
  for (const name of names) {
    const schema = schemas[name] as SchemaObject | ReferenceObject | undefined;
    if (schema && !('$ref' in schema)) schema.additionalProperties = false;
  }
  return document;
}
