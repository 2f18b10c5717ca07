import { DynamicModule, Inject, Injectable, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { NatsConnection } from 'nats';
import { connectNats } from './connection';
import { describeError } from './errors';
import { MessagingHealthIndicator } from './health';
import { KeyValueBuckets } from './kv';
import { JetStreamPublisher } from './publisher';
import { NatsSettings } from './settings';
import { StreamDefinition } from './streams';
import { JETSTREAM_REPLICAS, MESSAGING_STREAMS, NATS_CONNECTION } from './tokens';

export interface MessagingModuleOptions {
  readonly nats: NatsSettings;
  /** The service name: the NATS connection's name. */
  readonly name: string;
  /** Streams this service publishes to, created or updated at start-up (the dead-letter stream always is). */
  readonly streams?: readonly StreamDefinition[];
}

/** Drains the connection last, after consumers and in-flight publishes are done. */
@Injectable()
class NatsConnectionCloser implements OnApplicationShutdown {
  private readonly logger = new Logger(MessagingModule.name);

  constructor(@Inject(NATS_CONNECTION) private readonly connection: NatsConnection) {}

  async onApplicationShutdown(): Promise<void> {
    if (this.connection.isClosed()) return;
    await this.connection.drain().catch((error: unknown) => {
      this.logger.warn({ msg: 'Draining the NATS connection failed', error: describeError(error) });
    });
  }
}

/** The NATS connection, the JetStream publisher, KV buckets and the readiness check, for the whole application. */
@Module({})
export class MessagingModule {
  static forRoot(options: MessagingModuleOptions): DynamicModule {
    return {
      module: MessagingModule,
      global: true,
      imports: [TerminusModule],
      providers: [
        {
          provide: NATS_CONNECTION,
          useFactory: () => connectNats(options.nats, options.name, new Logger(MessagingModule.name)),
        },
        { provide: MESSAGING_STREAMS, useValue: options.streams ?? [] },
        { provide: JETSTREAM_REPLICAS, useValue: options.nats.replicas ?? 1 },
        {
          provide: KeyValueBuckets,
          inject: [NATS_CONNECTION, JETSTREAM_REPLICAS],
          useFactory: (connection: NatsConnection, replicas: number) => new KeyValueBuckets(connection, replicas),
        },
        NatsConnectionCloser,
        JetStreamPublisher,
        MessagingHealthIndicator,
      ],
      exports: [NATS_CONNECTION, JetStreamPublisher, KeyValueBuckets, MessagingHealthIndicator],
    };
  }
}
