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
import { TeardownMetrics } from './metrics';
import { CLEANUP_CONFIG, type CleanupConfig, STORE_CACHE, STORE_LIFECYCLE } from './config';
import { OrphanSweep } from './orphan-sweep';
import { StoreDeleter, StoreDeleterController } from './store-deleter';
import { Teardown } from './teardown';

/** The service's own providers, a module of their own so the readiness checks can reach them. */
@Module({})
class OperatorModule {}

@Module({})
export class AppModule {
  static forRoot(config: CleanupConfig, kube: KubeClients): DynamicModule {
    const operator: DynamicModule = {
      module: OperatorModule,
      controllers: [StoreDeleterController],
      providers: [
        { provide: CLEANUP_CONFIG, useValue: config },
        { provide: KubeClients, useValue: kube },
        { provide: LEADER_ELECTION, useValue: config.leaderElection },
        Leadership,
        {
          provide: Helm,
          inject: [Registry],
          useFactory: (metrics: Registry) =>
            new Helm({ binary: config.helmBinary, kubeconfig: process.env['KUBECONFIG'], metrics }),
        },
        TeardownMetrics,
        {
          provide: STORE_LIFECYCLE,
          inject: [KeyValueBuckets],
          useFactory: (buckets: KeyValueBuckets) => StoreLifecycle.open(buckets, config.lifecycleBucket),
        },
        StoreEventPublisher,
        StoreRecorder.provider('cleanup', 'Teardown'),
        StoreDeleter,
        Teardown,
        { provide: STORE_CACHE, useExisting: Teardown },
        OrphanSweep,
      ],
      exports: [Teardown],
    };
    return {
      module: AppModule,
      imports: [
        operator,
        MessagingModule.forRoot({ nats: config.nats, name: 'cleanup', streams: [defineStream(streams.stores)] }),
        OperationsModule.forRoot({
          service: 'cleanup',
          imports: [operator],
          inject: [MessagingHealthIndicator, Teardown],
          readiness: (nats: MessagingHealthIndicator, teardown: Teardown) => ({
            nats: () => nats.isReady(),
            kubernetes: async () => teardown.isSynced,
          }),
        }),
      ],
    };
  }
}
