import { Inject, Injectable } from '@nestjs/common';
import { GATEWAY_CONFIG, GatewayConfig } from '../config/gateway.config';

/** Where a store is served: `<scheme>://<name>.<baseDomain>`. */
@Injectable()
export class StoreUrls {
  constructor(@Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig) {}

  readonly of = (name: string): string => `${this.config.storeUrlScheme}://${name}.${this.config.baseDomain}`;
}
