import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { STATUS_CODES } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  CommandNotAcceptedError,
  StoreDeletedSinceError,
  StoreNameReservedError,
  StoreNameTakenError,
  StoreNotFoundError,
} from '../stores/store.errors';
import { ReadModelBehindError } from '../read-model/read-model.service';
import { pathOf } from './request-context';

export interface ErrorBody {
  readonly statusCode: number;
  readonly error: string;
  readonly message: string;
}

/** Every error leaves the API as `{statusCode, error, message}`, with a message a person can act on. */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger(HttpExceptionFilter.name);

  catch(error: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const res = http.getResponse<FastifyReply>();
    const req = http.getRequest<FastifyRequest>();
    const [status, message] = describeError(error, req.requestId);
    if (status >= 500) {
      this.logger.error({ msg: 'Request failed', path: pathOf(req), requestId: req.requestId, error: String(error) });
    }
    if (res.sent) return;
    const body: ErrorBody = { statusCode: status, error: STATUS_CODES[status] ?? 'Error', message };
    void res.status(status).send(body);
  }
}

/** The platform's own errors: the status each answers, and the reason a refused request is counted under. */
const KNOWN_ERRORS: readonly [new (...args: never[]) => Error, HttpStatus, string][] = [
  [StoreNotFoundError, HttpStatus.NOT_FOUND, 'NotFound'],
  [StoreNameTakenError, HttpStatus.CONFLICT, 'NameTaken'],
  [StoreDeletedSinceError, HttpStatus.CONFLICT, 'DeletedSince'],
  [StoreNameReservedError, HttpStatus.BAD_REQUEST, 'NameReserved'],
  [CommandNotAcceptedError, HttpStatus.SERVICE_UNAVAILABLE, 'NotAccepted'],
  [ReadModelBehindError, HttpStatus.SERVICE_UNAVAILABLE, 'ReadModelBehind'],
];

/** The HTTP status and message for any error a request can end with. */
export function describeError(error: unknown, requestId = 'unknown'): [number, string] {
  const known = KNOWN_ERRORS.find(([type]) => error instanceof type);
  if (known) return [known[1], (error as Error).message];
  if (error instanceof HttpException) return [error.getStatus(), messageOf(error)];
  return [HttpStatus.INTERNAL_SERVER_ERROR, `internal error (request id ${requestId})`];
}

/**
 * Why a request was refused, as a bounded CamelCase word for metrics: the platform's error, else the HTTP status's
 * name (`BadRequest` for a body that fails validation, `UnprocessableEntity` for a reused idempotency key).
 */
export function refusalReason(error: unknown): string {
  const known = KNOWN_ERRORS.find(([type]) => error instanceof type);
  if (known) return known[2];
  const [status] = describeError(error);
  return (STATUS_CODES[status] ?? 'Error').replace(/[^A-Za-z]/g, '');
}

function messageOf(error: HttpException): string {
  const response = error.getResponse();
  if (typeof response === 'string') return response;
  const message = (response as { message?: unknown }).message;
  if (Array.isArray(message)) return message.join('; ');
  return typeof message === 'string' ? message : error.message;
}
