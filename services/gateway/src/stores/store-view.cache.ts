import { Inject, Injectable } from '@nestjs/common';
import { Store } from '@urumi/contracts';
import { GATEWAY_CONFIG, GatewayConfig } from '../config/gateway.config';
import { StoreView, toStoreView } from './dto/store-view.dto';

/**
 * Stores as the API shows them. A read-model Store is never changed in place (a change replaces it),
 * so each one's view is built once and reused by every list, get and WebSocket push.
 */
@Injectable()
export class StoreViewCache {
  private readonly cache = new WeakMap<Store, StoreView>();

  constructor(@Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig) {}

  /** Where a store is served: `<scheme>://<name>.<baseDomain>`. */
  readonly urlOf = (name: string): string => `${this.config.storeUrlScheme}://${name}.${this.config.baseDomain}`;

  readonly of = (store: Store): StoreView => {
    let view = this.cache.get(store);
    if (!view) {
      view = toStoreView(store, this.urlOf);
      this.cache.set(store, view);
    }
    return view;
  };
}
