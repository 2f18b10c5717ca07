import { INestApplication, LoggerService } from '@nestjs/common';
import { MicroserviceOptions } from '@nestjs/microservices';
import { streams } from '@urumi/contracts';
import { JetStreamServer, JetStreamServerOptions } from '@urumi/messaging';
import { createHttpApp, ShutdownState } from '@urumi/runtime';
import { Registry } from 'prom-client';
import { AppModule } from './app.module';
import { QuotaConfig } from './config/quota.config';
import { quotaSubjects, QuotaSubjects } from './quota/quota.subjects';

/** Where quota's messages flow. Tests give each run its own, so parallel runs never see each other's. */
export interface QuotaWiring {
  readonly stream: string;
  readonly subjects: QuotaSubjects;
  /** Prefixes the durable consumers' names. */
  readonly durablePrefix: string;
  readonly consumer?: Omit<JetStreamServerOptions, 'nats' | 'stream' | 'durablePrefix'>;
}

export const platformWiring: QuotaWiring = {
  stream: streams.stores.name,
  subjects: quotaSubjects(),
  durablePrefix: 'quota',
};

/** The HTTP app (health, readiness, metrics) with the JetStream consumers attached; neither is started yet. */
export async function createQuotaApp(
  config: QuotaConfig,
  { wiring = platformWiring, logger }: { wiring?: QuotaWiring; logger?: LoggerService | false } = {},
): Promise<INestApplication> {
  const app = await createHttpApp(AppModule.forRoot(config, wiring.subjects), logger === undefined ? {} : { logger });
  app.connectMicroservice<MicroserviceOptions>({
    strategy: new JetStreamServer({
      ...wiring.consumer,
      nats: config.nats,
      stream: wiring.stream,
      durablePrefix: wiring.durablePrefix,
      stopPullingOn: app.get(ShutdownState).signal,
      metrics: app.get(Registry),
    }),
  });
  return app;
}
