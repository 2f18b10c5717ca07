import { DynamicModule, Inject, Logger, Module, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import express, { NextFunction, Request, RequestHandler, Response } from 'express';
import { existsSync } from 'node:fs';
import { extname, join } from 'node:path';
import { ConsoleConfig } from './console.config';

const CONSOLE_CONFIG = Symbol('CONSOLE_CONFIG');

/** Scripts only from the gateway; the live-status WebSocket is same-origin. */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'self'",
  "form-action 'self'",
].join('; ');

/** Build outputs named by content hash (main-FJUNCHZP.js) never change: browsers may keep them. */
const HASHED = /-[A-Z0-9]{8}\.(js|css)$/;

/**
 * Serves the built console at `/`: its files, and index.html for any other page path (the console's
 * own routes), so a person opens one URL. Registered after the API routes, so it only sees requests no
 * route took; `/api/…` stays the API's (unknown API paths still answer the JSON 404).
 */
@Module({})
export class ConsoleModule implements OnModuleInit {
  private readonly logger = new Logger(ConsoleModule.name);

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Inject(CONSOLE_CONFIG) private readonly config: ConsoleConfig,
  ) {}

  static forRoot(config: ConsoleConfig): DynamicModule {
    return { module: ConsoleModule, providers: [{ provide: CONSOLE_CONFIG, useValue: config }] };
  }

  onModuleInit(): void {
    const { dir } = this.config;
    if (!existsSync(join(dir, 'index.html'))) {
      this.logger.warn({ msg: 'The console is not built; / explains how to build it', dir });
    }
    this.adapterHost.httpAdapter.use(consoleHandler(dir));
  }
}

export function consoleHandler(dir: string): RequestHandler {
  const files = express.static(dir, {
    index: false,
    redirect: false,
    setHeaders: (res, path) => {
      res.setHeader('X-Content-Type-Options', 'nosniff');
      res.setHeader('Cache-Control', HASHED.test(path) ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
  const index = join(dir, 'index.html');
  return (req: Request, res: Response, next: NextFunction) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || req.path === '/api' || req.path.startsWith('/api/')) {
      return next();
    }
    files(req, res, () => {
      // A missing file (/favicon.png) is a 404; a page path (/stores/42) is the console's to route.
      if (extname(req.path) !== '') return next();
      res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
      res.setHeader('X-Frame-Options', 'DENY');
      res.setHeader('Referrer-Policy', 'same-origin');
      res.setHeader('X-Content-Type-Options', 'nosniff');
      res.setHeader('Cache-Control', 'no-cache');
      if (!existsSync(index)) {
        res
          .status(404)
          .type('text/plain')
          .send(
            `The Urumi console is not built (no ${index}).\n` +
              'Build it with `npx nx run console:build`, or point CONSOLE_DIR at a built console.\n' +
              'The API is at /api/v1 (OpenAPI: /api/docs).\n',
          );
        return;
      }
      res.sendFile(index, (error) => error && next(error));
    });
  };
}
