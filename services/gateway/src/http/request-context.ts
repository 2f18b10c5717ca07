import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { Histogram, Registry } from 'prom-client';
import { Logger } from '@nestjs/common';
import { Actor, ActorSchema, create } from '@urumi/contracts';

const REQUEST_ID = /^[\w.:-]{1,128}$/;

declare module 'express' {
  interface Request {
    requestId?: string;
  }
}

/** Who asked, from where, under which request id: carried into every command, event and audit entry. */
export interface RequestOrigin {
  readonly actor: Actor;
  readonly requestId: string;
}

export function originOf(req: Request, principal: { name: string; role: string }): RequestOrigin {
  return {
    actor: create(ActorSchema, { user: principal.name, role: principal.role, sourceIp: req.ip ?? '' }),
    requestId: req.requestId ?? 'unknown',
  };
}

/**
 * One middleware for what every request needs: a request id, a JSON access log line (no query
 * strings, no headers: they may carry tokens) and the request-duration histogram.
 */
export function requestContext(registry: Registry): (req: Request, res: Response, next: NextFunction) => void {
  const logger = new Logger('Http');
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by method, route and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });
  return (req, res, next) => {
    const header = req.header('x-request-id');
    req.requestId = header && REQUEST_ID.test(header) ? header : randomUUID();
    res.setHeader('X-Request-Id', req.requestId);
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
      duration.observe(
        { method: req.method, route: `${req.baseUrl}${route}`, status: String(res.statusCode) },
        seconds,
      );
      logger.log({
        msg: 'request',
        method: req.method,
        path: req.path,
        status: res.statusCode,
        durationMs: Math.round(seconds * 1000 * 10) / 10,
        requestId: req.requestId,
        user: req.principal?.name,
      });
    });
    next();
  };
}
