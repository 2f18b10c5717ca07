import {
  Controller,
  DynamicModule,
  Get,
  Header,
  Inject,
  Injectable,
  Logger,
  Module,
  OnApplicationBootstrap,
  OnApplicationShutdown,
  OnModuleDestroy,
  Res,
} from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Registry } from 'prom-client';

/** A named readiness check: /readyz answers 503 while any of them is false. */
export type ReadinessChecks = Readonly<Record<string, () => Promise<boolean>>>;

export const READINESS_CHECKS = Symbol('READINESS_CHECKS');

/**
 * Whether the application is shutting down: from the first shutdown hook on (Nest runs onModuleDestroy first, on
 * SIGTERM), /readyz answers 503 and `signal` is aborted, so consumers stop pulling before the rest drains.
 */
@Injectable()
export class ShutdownState implements OnModuleDestroy {
  private readonly logger = new Logger(ShutdownState.name);
  private readonly stopping = new AbortController();

  /** Aborted once shutdown begins. */
  get signal(): AbortSignal {
    return this.stopping.signal;
  }

  onModuleDestroy(): void {
    if (this.stopping.signal.aborted) return;
    this.logger.log({ msg: 'Shutting down: not ready, taking no new work' });
    this.stopping.abort();
  }
}

@ApiExcludeController()
@Controller()
export class OperationsController {
  constructor(
    @Inject(READINESS_CHECKS) private readonly checks: ReadinessChecks,
    private readonly shutdown: ShutdownState,
  ) {}

  @Get('healthz')
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('readyz')
  async ready(
    @Res({ passthrough: true }) res: FastifyReply,
  ): Promise<{ status: string; checks: Record<string, boolean> }> {
    if (this.shutdown.signal.aborted) {
      res.status(503);
      return { status: 'shutting down', checks: {} };
    }
    const entries = await Promise.all(
      Object.entries(this.checks).map(async ([name, check]) => [name, await check().catch(() => false)] as const),
    );
    const checks = Object.fromEntries(entries);
    const ready = entries.every(([, ok]) => ok);
    res.status(ready ? 200 : 503);
    return { status: ready ? 'ready' : 'not ready', checks };
  }
}

@ApiExcludeController()
@Controller()
export class MetricsController {
  constructor(private readonly registry: Registry) {}

  @Get('metrics')
  @Header('Content-Type', Registry.PROMETHEUS_CONTENT_TYPE)
  metrics(): Promise<string> {
    return this.registry.metrics();
  }
}

export interface MetricsListener {
  readonly host: string;
  /** 0: any free port (see MetricsServer.port). */
  readonly port: number;
}

export const METRICS_LISTENER = Symbol('METRICS_LISTENER');

/** /metrics on a port of its own, which a Service or Ingress in front of the application does not expose. */
@Injectable()
export class MetricsServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(MetricsServer.name);
  private readonly server: Server;

  constructor(
    registry: Registry,
    @Inject(METRICS_LISTENER) private readonly listener: MetricsListener,
  ) {
    this.server = createServer((req, res) => {
      if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end('only GET /metrics here\n');
        return;
      }
      registry.metrics().then(
        (text) => res.writeHead(200, { 'Content-Type': Registry.PROMETHEUS_CONTENT_TYPE }).end(text),
        () => res.writeHead(500).end(),
      );
    });
  }

  /** The port it listens on, once the application has started. */
  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  async onApplicationBootstrap(): Promise<void> {
    const { host, port } = this.listener;
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject).listen(port, host, () => resolve());
    });
    this.logger.log({ msg: 'Serving metrics', host, port: this.port, path: '/metrics' });
  }

  async onApplicationShutdown(): Promise<void> {
    if (!this.server.listening) return;
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export interface OperationsOptions {
  readonly service: string;
  readonly imports?: DynamicModule['imports'];
  readonly inject?: unknown[];
  readonly readiness: (...deps: never[]) => ReadinessChecks;
  /** Serve /metrics here instead of on the application's port (for a service whose port is public). */
  readonly metrics?: MetricsListener;
}

/**
 * /healthz, /readyz and /metrics (Prometheus, with the process's default metrics), for every service;
 * /metrics on the application's port, or on `metrics` when given.
 */
@Module({})
export class OperationsModule {
  static forRoot(options: OperationsOptions): DynamicModule {
    return {
      module: OperationsModule,
      global: true,
      imports: options.imports ?? [],
      controllers: options.metrics ? [OperationsController] : [OperationsController, MetricsController],
      providers: [
        ...(options.metrics ? [{ provide: METRICS_LISTENER, useValue: options.metrics }, MetricsServer] : []),
        {
          provide: Registry,
          useFactory: () => {
            const registry = new Registry();
            registry.setDefaultLabels({ service: options.service });
            collectDefaultMetrics({ register: registry });
            return registry;
          },
        },
        {
          provide: READINESS_CHECKS,
          inject: (options.inject ?? []) as never[],
          useFactory: options.readiness,
        },
        ShutdownState,
      ],
      exports: [Registry, ShutdownState],
    };
  }
}
