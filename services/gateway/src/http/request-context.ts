import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Histogram, Registry } from 'prom-client';
import { Logger } from '@nestjs/common';
import { Actor, ActorSchema, create } from '@urumi/contracts';

const REQUEST_ID = /^[\w.:-]{1,128}$/;

declare module 'fastify' {
  interface FastifyRequest {
    requestId?: string;
  }
}

/** Who asked, from where, under which request id: carried into every command, event and audit entry. */
export interface RequestOrigin {
  readonly actor: Actor;
  readonly requestId: string;
}

export function originOf(req: FastifyRequest, principal: { name: string; role: string }): RequestOrigin {
  return {
    actor: create(ActorSchema, { user: principal.name, role: principal.role, sourceIp: req.ip ?? '' }),
    requestId: req.requestId ?? 'unknown',
  };
}

/** The request's path, without its query string (which may carry tokens). */
export function pathOf(req: FastifyRequest): string {
  const query = req.url.indexOf('?');
  return query === -1 ? req.url : req.url.slice(0, query);
}

/**
 * What every request needs, as two hooks: a request id, a JSON access log line (no query strings, no headers: they may
 * carry tokens) and the request-duration histogram.
 */
export function useRequestContext(fastify: FastifyInstance, registry: Registry): void {
  const logger = new Logger('Http');
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by method, route and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });
  fastify.addHook('onRequest', (req, reply, done) => {
    const header = req.headers['x-request-id'];
    req.requestId = typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID();
    reply.header('X-Request-Id', req.requestId);
    done();
  });
  fastify.addHook('onResponse', (req, reply, done) => {
    const seconds = reply.elapsedTime / 1000;
    const route = req.routeOptions.url ?? 'unmatched';
    duration.observe({ method: req.method, route, status: String(reply.statusCode) }, seconds);
    logger.log({
      msg: 'request',
      method: req.method,
      path: pathOf(req),
      status: reply.statusCode,
      durationMs: Math.round(reply.elapsedTime * 10) / 10,
      requestId: req.requestId,
      user: req.principal?.name,
    });
    done();
  });
}
