import { Controller, DynamicModule, Get, Header, Inject, Module, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { collectDefaultMetrics, Registry } from 'prom-client';

/** A named readiness check: /readyz answers 503 while any of them is false. */
export type ReadinessChecks = Readonly<Record<string, () => Promise<boolean>>>;

export const READINESS_CHECKS = Symbol('READINESS_CHECKS');

@ApiExcludeController()
@Controller()
export class OperationsController {
  constructor(
    private readonly registry: Registry,
    @Inject(READINESS_CHECKS) private readonly checks: ReadinessChecks,
  ) {}

  @Get('healthz')
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('readyz')
  async ready(@Res({ passthrough: true }) res: Response): Promise<{ status: string; checks: Record<string, boolean> }> {
    const entries = await Promise.all(
      Object.entries(this.checks).map(async ([name, check]) => [name, await check().catch(() => false)] as const),
    );
    const checks = Object.fromEntries(entries);
    const ready = entries.every(([, ok]) => ok);
    res.status(ready ? 200 : 503);
    return { status: ready ? 'ready' : 'not ready', checks };
  }

  @Get('metrics')
  @Header('Content-Type', Registry.PROMETHEUS_CONTENT_TYPE)
  metrics(): Promise<string> {
    return this.registry.metrics();
  }
}

export interface OperationsOptions {
  readonly service: string;
  readonly imports?: DynamicModule['imports'];
  readonly inject?: unknown[];
  readonly readiness: (...deps: never[]) => ReadinessChecks;
}

/** /healthz, /readyz and /metrics (Prometheus, with the process's default metrics), for every service. */
@Module({})
export class OperationsModule {
  static forRoot(options: OperationsOptions): DynamicModule {
    return {
      module: OperationsModule,
      global: true,
      imports: options.imports ?? [],
      controllers: [OperationsController],
      providers: [
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
      ],
      exports: [Registry],
    };
  }
}
