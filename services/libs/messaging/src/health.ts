import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { JetStreamManager, NatsConnection } from 'nats';
import { NATS_CONNECTION } from './tokens';

const PROBE_TIMEOUT_MS = 2_000;

/** Ready = connected and JetStream answers an account-info request within 2 s. */
@Injectable()
export class MessagingHealthIndicator {
  private jsm?: Promise<JetStreamManager>;

  constructor(
    @Inject(NATS_CONNECTION) private readonly connection: NatsConnection,
    private readonly indicators: HealthIndicatorService,
  ) {}

  async isReady(): Promise<boolean> {
    if (this.connection.isClosed() || this.connection.isDraining()) return false;
    try {
      this.jsm ??= this.connection.jetstreamManager({ checkAPI: false, timeout: PROBE_TIMEOUT_MS });
      await (await this.jsm).getAccountInfo();
      return true;
    } catch {
      return false;
    }
  }

  /** For a terminus HealthCheckService.check([...]) list. */
  async isHealthy<const Key extends string = 'nats'>(key: Key = 'nats' as Key): Promise<HealthIndicatorResult<Key>> {
    const session = this.indicators.check(key);
    return (await this.isReady())
      ? session.up()
      : session.down({ message: 'NATS is disconnected or JetStream does not answer' });
  }
}
