import {
  BadRequestException,
  HttpException,
  PayloadTooLargeException,
  UnsupportedMediaTypeException,
} from '@nestjs/common';
import express, { RequestHandler } from 'express';

/** Express's JSON parser, with its failures turned into answers a person understands. */
export function jsonBody(limitBytes: number): RequestHandler {
  const parse = express.json({ limit: limitBytes, strict: true });
  return (req, res, next) =>
    parse(req, res, (error?: unknown) => next(error === undefined ? undefined : explain(error, limitBytes)));
}

function explain(error: unknown, limitBytes: number): HttpException {
  switch ((error as { type?: unknown }).type) {
    case 'entity.parse.failed':
      return new BadRequestException('request body is not valid JSON');
    case 'entity.too.large':
      return new PayloadTooLargeException(`request body is larger than ${limitBytes} bytes`);
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new UnsupportedMediaTypeException('request body must be UTF-8 JSON');
    default:
      return new BadRequestException('request body could not be read');
  }
}
