import { INestApplication, LoggerService } from '@nestjs/common';
import { MicroserviceOptions } from '@nestjs/microservices';
import { streams } from '@urumi/contracts';
import { KubeClients } from '@urumi/kube';
import { JetStreamServer } from '@urumi/messaging';
import { createHttpApp, ShutdownState } from '@urumi/runtime';
import { Registry } from 'prom-client';
import { AppModule } from './app.module';
import type { ProvisionerConfig } from './config';

/** The HTTP app (health, readiness, metrics) with the approval consumer attached; neither is started yet. */
export async function createProvisionerApp(
  config: ProvisionerConfig,
  { kube = KubeClients.fromEnvironment(), logger }: { kube?: KubeClients; logger?: LoggerService | false } = {},
): Promise<INestApplication> {
  const app = await createHttpApp(AppModule.forRoot(config, kube), logger === undefined ? {} : { logger });
  app.connectMicroservice<MicroserviceOptions>({
    strategy: new JetStreamServer({
      nats: config.nats,
      stream: streams.stores.name,
      durablePrefix: 'provisioner',
      stopPullingOn: app.get(ShutdownState).signal,
      metrics: app.get(Registry),
    }),
  });
  return app;
}
