import {
  BadRequestException,
  HttpException,
  PayloadTooLargeException,
  UnsupportedMediaTypeException,
} from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { FastifyInstance } from 'fastify';

const JSON_TYPE = /^application\/json\s*(;|$)/i;
const CHARSET = /;\s*charset\s*=\s*"?([^";\s]+)"?/i;

/**
 * The only request bodies the API takes: UTF-8 JSON objects or arrays, of at most the server's `bodyLimit`. Fastify's
 * own parsers (JSON, plain text) are replaced, so any other body is a 415.
 */
export function acceptJsonBodies(fastify: FastifyInstance): void {
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser(JSON_TYPE, { parseAs: 'string' }, (req, text, done) => {
    const charset = CHARSET.exec(req.headers['content-type'] ?? '')?.[1]?.toLowerCase();
    if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
      return done(new UnsupportedMediaTypeException('request body must be UTF-8 JSON'), undefined);
    }
    if (text === '') return done(null, undefined);
    let body: unknown;
    try {
      body = JSON.parse(text as string);
    } catch {
      return done(new BadRequestException('request body is not valid JSON'), undefined);
    }
    // As strict JSON parsers: a bare string or number is no request body.
    if (typeof body !== 'object' || body === null) {
      return done(new BadRequestException('request body must be a JSON object'), undefined);
    }
    done(null, body);
  });
}

/**
 * Fastify under Nest, with Fastify's own refusals of a request body (too large, not JSON, shorter than its
 * Content-Length) told in words a person understands before Nest's exception filters see them: Nest would pass on
 * Fastify's message ("Request body is too large") without the limit.
 */
export class JsonBodyAdapter extends FastifyAdapter {
  override setErrorHandler(handler: Parameters<FastifyAdapter['setErrorHandler']>[0]) {
    return super.setErrorHandler(function (this: FastifyInstance, error, req, reply) {
      return handler.call(this, bodyRefusal(error, req.routeOptions.bodyLimit) ?? error, req, reply);
    });
  }
}

function bodyRefusal(error: unknown, limitBytes: number): HttpException | undefined {
  switch ((error as { code?: unknown }).code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new PayloadTooLargeException(`request body is larger than ${limitBytes} bytes`);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new UnsupportedMediaTypeException('request body must be JSON (Content-Type: application/json)');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new BadRequestException('request body is not as long as its Content-Length says');
    default:
      return undefined;
  }
}
