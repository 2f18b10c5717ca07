import { DynamicModule, Module } from '@nestjs/common';
import { streams } from '@urumi/contracts';
import { Helm, KubeClients, LEADER_ELECTION, Leadership, StoreRecorder } from '@urumi/kube';
import {
  defineStream,
  KeyValueBuckets,
  MessagingHealthIndicator,
  MessagingModule,
  StoreEventPublisher,
  StoreLifecycle,
} from '@urumi/messaging';
import { OperationsModule } from '@urumi/runtime';
import { Registry } from 'prom-client';
import type { ProvisionerConfig } from './config';
import { readEngineCharts } from './engines';
import { ProvisioningMetrics } from './metrics';
import { StoreReconciler } from './reconciler';
import { StoreCreator, StoreCreatorController } from './store-creator';
import { ENGINE_CHARTS, PROVISIONER_CONFIG, STORE_LIFECYCLE } from './tokens';

/** The service's own providers, a module of their own so the readiness checks can reach them. */
@Module({})
class OperatorModule {}

@Module({})
export class AppModule {
  static forRoot(config: ProvisionerConfig, kube: KubeClients): DynamicModule {
    const operator: DynamicModule = {
      module: OperatorModule,
      controllers: [StoreCreatorController],
      providers: [
        { provide: PROVISIONER_CONFIG, useValue: config },
        { provide: KubeClients, useValue: kube },
        { provide: LEADER_ELECTION, useValue: config.leaderElection },
        Leadership,
        {
          provide: Helm,
          inject: [Registry],
          useFactory: (metrics: Registry) =>
            new Helm({
              binary: config.helmBinary,
              kubeconfig: process.env['KUBECONFIG'],
              maxConcurrent: config.helmConcurrency,
              metrics,
            }),
        },
        ProvisioningMetrics,
        { provide: ENGINE_CHARTS, useValue: readEngineCharts(config.chartsDir) },
        {
          provide: STORE_LIFECYCLE,
          inject: [KeyValueBuckets],
          useFactory: (buckets: KeyValueBuckets) => StoreLifecycle.open(buckets, config.lifecycleBucket),
        },
        StoreEventPublisher,
        StoreRecorder.provider('provisioner', 'Provision'),
        StoreCreator,
        StoreReconciler,
      ],
      exports: [StoreReconciler],
    };
    return {
      module: AppModule,
      imports: [
        operator,
        MessagingModule.forRoot({
          nats: config.nats,
          name: 'provisioner',
          streams: [defineStream(streams.stores)],
        }),
        OperationsModule.forRoot({
          service: 'provisioner',
          imports: [operator],
          inject: [MessagingHealthIndicator, StoreReconciler],
          readiness: (nats: MessagingHealthIndicator, reconciler: StoreReconciler) => ({
            nats: () => nats.isReady(),
            kubernetes: async () => reconciler.isSynced,
          }),
        }),
      ],
    };
  }
}
