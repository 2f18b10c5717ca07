import { DynamicModule, Module } from '@nestjs/common';
import { streams } from '@urumi/contracts';
import { defineStream, MessagingHealthIndicator, MessagingModule } from '@urumi/messaging';
import { OperationsModule } from '@urumi/runtime';
import { AuditModule } from './audit/audit.module';
import { AuthConfig, AuthModule } from './auth';
import { ConsoleConfig, consoleConfigFromEnv } from './console/console.config';
import { ConsoleModule } from './console/console.module';
import { GatewayConfigModule } from './config/gateway-config.module';
import { GatewayConfig } from './config/gateway.config';
import { EnginesConfig, enginesConfigFromEnv } from './engines/engines.config';
import { EnginesModule } from './engines/engines.module';
import { describeError } from './http/http-exception.filter';
import { IdempotencyModule } from './idempotency';
import { LiveConfig, liveConfigFromEnv } from './live/live.config';
import { LiveModule } from './live/live.module';
import { PlatformModule } from './platform/platform.module';
import { ReadModelModule } from './read-model/read-model.module';
import { ReadModel } from './read-model/read-model.service';
import { StoresModule } from './stores/stores.module';
import { ThrottlingConfig, ThrottlingModule } from './throttling';

export interface GatewayModuleConfig {
  readonly gateway: GatewayConfig;
  readonly auth: AuthConfig;
  readonly throttling: ThrottlingConfig;
  /** Bounds of the live-status WebSocket (default: from the environment, LIVE_*). */
  readonly live?: LiveConfig;
  /** The built console served at `/` (default: from the environment, CONSOLE_DIR). */
  readonly console?: ConsoleConfig;
  /** Which engines this cluster only simulates (default: from the environment, SIMULATED_ENGINES). */
  readonly engines?: EnginesConfig;
}

@Module({})
export class AppModule {
  static forRoot(config: GatewayModuleConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        GatewayConfigModule.forRoot(config.gateway),
        MessagingModule.forRoot({
          nats: config.gateway.nats,
          name: 'gateway',
          streams: [defineStream(streams.stores), defineStream(streams.audit)],
        }),
        OperationsModule.forRoot({
          service: 'gateway',
          // Off the port the Ingress publishes.
          metrics: { host: config.gateway.host, port: config.gateway.metricsPort },
          imports: [ReadModelModule],
          inject: [MessagingHealthIndicator, ReadModel],
          readiness: (nats: MessagingHealthIndicator, readModel: ReadModel) => ({
            nats: () => nats.isReady(),
            readModel: async () => readModel.isReady(),
          }),
        }),
        // Before auth: a request with a bad token still counts against its IP.
        ThrottlingModule.forRoot(config.throttling),
        AuthModule.forRoot(config.auth),
        IdempotencyModule.forRoot({ describeError }),
        StoresModule,
        EnginesModule.forRoot(config.engines ?? enginesConfigFromEnv(process.env)),
        AuditModule,
        PlatformModule,
        LiveModule.forRoot(config.live ?? liveConfigFromEnv(process.env)),
        // Last: it answers only what no API route took.
        ConsoleModule.forRoot(config.console ?? consoleConfigFromEnv(process.env)),
      ],
    };
  }
}
