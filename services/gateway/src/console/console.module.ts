import { DynamicModule, Inject, Logger, Module, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { existsSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { pathOf } from '../http/request-context';
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
 * own routes), so a person opens one URL. Its wildcard route only sees requests no API route matches;
 * `/api/…` stays the API's (unknown API paths still answer the JSON 404).
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
    serveConsole(this.adapterHost.httpAdapter.getInstance<FastifyInstance>(), dir);
  }
}

/** GET and HEAD of any path outside /api: a built file, else (a page path) index.html. */
export function serveConsole(fastify: FastifyInstance, dir: string): void {
  const root = resolve(dir);
  void fastify.register(fastifyStatic, {
    root,
    serve: false,
    index: false,
    setHeaders: (reply, path) =>
      void reply.headers({
        'X-Content-Type-Options': 'nosniff',
        'Cache-Control': HASHED.test(path) ? 'public, max-age=31536000, immutable' : 'no-cache',
      }),
  });
  const index = join(root, 'index.html');
  fastify.get('/*', (req, reply) => {
    const path = pathOf(req);
    if (path === '/api' || path.startsWith('/api/')) return reply.callNotFound();
    // A missing file (/favicon.png) is a 404; a page path (/stores/42) is the console's to route.
    if (extname(path) !== '') return reply.sendFile((req.params as { '*': string })['*']);
    void reply.headers({
      'Content-Security-Policy': CONTENT_SECURITY_POLICY,
      'X-Frame-Options': 'DENY',
      'Referrer-Policy': 'same-origin',
      'X-Content-Type-Options': 'nosniff',
      'Cache-Control': 'no-cache',
    });
    if (!existsSync(index)) {
      return reply
        .status(404)
        .type('text/plain')
        .send(
          `The Urumi console is not built (no ${index}).\n` +
            'Build it with `npx nx run console:build`, or point CONSOLE_DIR at a built console.\n' +
            'The API is at /api/v1 (OpenAPI: /api/docs).\n',
        );
    }
    return reply.sendFile('index.html');
  });
}
