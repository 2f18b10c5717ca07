import { DynamicModule, Module } from '@nestjs/common';
import { MessagingHealthIndicator, MessagingModule } from '@urumi/messaging';
import { OperationsModule } from '@urumi/runtime';
import { QuotaConfig } from './config/quota.config';
import { ConsumerReadiness } from './consumer-readiness';
import { QuotaModule } from './quota/quota.module';
import { QuotaSubjects } from './quota/quota.subjects';

@Module({})
export class AppModule {
  static forRoot(config: QuotaConfig, subjects?: QuotaSubjects): DynamicModule {
    const consumers = new ConsumerReadiness();
    return {
      module: AppModule,
      imports: [
        MessagingModule.forRoot({ nats: config.nats, name: 'quota' }),
        QuotaModule.forRoot({ limits: config.limits, bucket: config.bucket, subjects }),
        OperationsModule.forRoot({
          service: 'quota',
          inject: [MessagingHealthIndicator],
          readiness: (nats: MessagingHealthIndicator) => ({
            nats: () => nats.isReady(),
            consumers: async () => consumers.isReady(),
          }),
        }),
      ],
      providers: [{ provide: ConsumerReadiness, useValue: consumers }],
    };
  }
}
