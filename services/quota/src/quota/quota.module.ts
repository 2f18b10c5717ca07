import { DynamicModule, Module } from '@nestjs/common';
import { KeyValueBuckets } from '@urumi/messaging';
import { QuotaLimits } from './ledger';
import { LedgerStore } from './ledger.store';
import { quotaController } from './quota.controller';
import { QUOTA_OPTIONS, QuotaOptions, QuotaService } from './quota.service';
import { quotaSubjects, QuotaSubjects } from './quota.subjects';

export interface QuotaModuleOptions {
  readonly limits: QuotaLimits;
  /** The JetStream KV bucket holding the ledger. */
  readonly bucket: string;
  readonly subjects?: QuotaSubjects;
}

/** Needs MessagingModule (the NATS connection and the publisher) in the application. */
@Module({})
export class QuotaModule {
  static forRoot(options: QuotaModuleOptions): DynamicModule {
    const subjects = options.subjects ?? quotaSubjects();
    const quotaOptions: QuotaOptions = { limits: options.limits, subjects };
    return {
      module: QuotaModule,
      controllers: [quotaController(subjects)],
      providers: [
        { provide: QUOTA_OPTIONS, useValue: quotaOptions },
        {
          provide: LedgerStore,
          inject: [KeyValueBuckets],
          useFactory: (buckets: KeyValueBuckets) => LedgerStore.open(buckets, options.bucket),
        },
        QuotaService,
      ],
      exports: [QuotaService, LedgerStore],
    };
  }
}
