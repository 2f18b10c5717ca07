import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { STATUS_CODES } from 'node:http';
import type { Request, Response } from 'express';
import {
  CommandNotAcceptedError,
  StoreDeletedSinceError,
  StoreNameReservedError,
  StoreNameTakenError,
  StoreNotFoundError,
} from '../stores/store.errors';
import { ReadModelBehindError } from '../read-model/read-model.service';

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
    const res = http.getResponse<Response>();
    const req = http.getRequest<Request>();
    const [status, message] = describeError(error, req.requestId);
    if (status >= 500) {
      this.logger.error({ msg: 'Request failed', path: req.path, requestId: req.requestId, error: String(error) });
    }
    if (res.headersSent) return;
    const body: ErrorBody = { statusCode: status, error: STATUS_CODES[status] ?? 'Error', message };
    res.status(status).json(body);
  }
}

/** The HTTP status and message for any error a request can end with. */
export function describeError(error: unknown, requestId = 'unknown'): [number, string] {
  if (error instanceof StoreNotFoundError) return [HttpStatus.NOT_FOUND, error.message];
  if (error instanceof StoreNameTakenError || error instanceof StoreDeletedSinceError) {
    return [HttpStatus.CONFLICT, error.message];
  }
  if (error instanceof StoreNameReservedError) return [HttpStatus.BAD_REQUEST, error.message];
  if (error instanceof CommandNotAcceptedError || error instanceof ReadModelBehindError) {
    return [HttpStatus.SERVICE_UNAVAILABLE, error.message];
  }
  if (error instanceof HttpException) return [error.getStatus(), messageOf(error)];
  return [HttpStatus.INTERNAL_SERVER_ERROR, `internal error (request id ${requestId})`];
}

function messageOf(error: HttpException): string {
  const response = error.getResponse();
  if (typeof response === 'string') return response;
  const message = (response as { message?: unknown }).message;
  if (Array.isArray(message)) return message.join('; ');
  return typeof message === 'string' ? message : error.message;
}
