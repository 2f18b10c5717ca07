import { request } from 'node:http';
import type { LookupFunction } from 'node:net';

// Medusa's API answers are deep JSON; the tests read the fields they check.
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Where a shopper reaches a store. */
export interface StoreAddress {
  /** The URL the shopper opens, e.g. http://demo.127.0.0.1.nip.io:8080 (no path). */
  readonly url: string;
  /** The address its host name resolves to, as nip.io would answer; unset: the system resolver's. */
  readonly resolveTo?: string;
}

export interface HttpAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

/** What the shopper bought: the order the Store API completed, and what it should cost. */
export interface PlacedOrder {
  readonly orderId: string;
  readonly email: string;
  readonly sku: string;
  readonly quantity: number;
  readonly unitPrice: number;
  readonly shippingAmount: number;
  readonly ms: number;
}

/** The order as the Admin API shows it, with the stock reserved for its line. */
export interface AdminView {
  readonly order: {
    readonly id: string;
    readonly email: string;
    readonly total: number;
    readonly items: readonly { readonly id: string; readonly variant_sku: string; readonly quantity: number }[];
  };
  readonly reservations: readonly { readonly line_item_id: string; readonly quantity: number }[];
}

const ADDRESS = {
  first_name: 'Ada',
  last_name: 'Lovelace',
  address_1: 'Unter den Linden 1',
  city: 'Berlin',
  postal_code: '10117',
  country_code: 'de',
};

/** One HTTP request to the store: its host name resolved to `resolveTo` when given, the Host header kept. */
export function httpRequest(
  address: StoreAddress,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<HttpAnswer> {
  const target = new URL(path, address.url);
  const resolveTo = address.resolveTo;
  const lookup: LookupFunction | undefined = resolveTo
    ? (_host, options, callback) => {
        if (options.all) callback(null, [{ address: resolveTo, family: 4 }]);
        else callback(null, resolveTo, 4);
      }
    : undefined;
  return new Promise((resolve, reject) => {
    const req = request(target, { method, headers, lookup, timeout: 60_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          contentType: String(res.headers['content-type'] ?? ''),
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${target.href} timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * A shopper and an admin on a Medusa store of charts/store-medusa (its seed: region Europe, the Urumi T-shirt,
 * Standard Shipping, the system payment provider), through the Store and Admin APIs as a storefront calls them.
 */
export class MedusaShopper {
  constructor(
    private readonly address: StoreAddress,
    /** Appended to a failed call's error: e.g. the server's log tail. */
    private readonly diagnostics: () => string | Promise<string> = () => '',
  ) {}

  page(path: string): Promise<HttpAnswer> {
    return httpRequest(this.address, 'GET', path);
  }

  /** A JSON call; anything but 2xx throws with the answer and the diagnostics. */
  async call(method: string, path: string, headers: Record<string, string> = {}, body?: Json): Promise<Json> {
    const answer = await httpRequest(
      this.address,
      method,
      path,
      { 'content-type': 'application/json', ...headers },
      body ? JSON.stringify(body) : undefined,
    );
    if (answer.status < 200 || answer.status >= 300) {
      throw new Error(`${method} ${path} → ${answer.status}: ${answer.body}\n${await this.diagnostics()}`);
    }
    return JSON.parse(answer.body) as Json;
  }

  /** The publishable key the storefront reads at run time (GET /storefront/config). */
  async publishableKey(): Promise<string> {
    return (await this.call('GET', '/storefront/config'))['publishable_key'] as string;
  }

  /**
   * Cart, line item, address, shipping, a payment session with the system provider, checkout: the order the Store
   * API completes, timed from the first Store API call.
   */
  async placeOrder(publishableKey: string, sku = 'URUMI-TEE-M', quantity = 2): Promise<PlacedOrder> {
    const headers = { 'x-publishable-api-key': publishableKey };
    const store = (method: string, path: string, body?: Json) => this.call(method, path, headers, body);
    const started = Date.now();
    const { regions } = await store('GET', '/store/regions');
    const region = regions.find((r: Json) => r['name'] === 'Europe');
    const { products } = await store(
      'GET',
      `/store/products?handle=urumi-t-shirt&region_id=${region.id}&fields=*variants.calculated_price`,
    );
    const variant = products[0].variants.find((v: Json) => v['sku'] === sku);
    const unitPrice = variant.calculated_price.calculated_amount as number;
    let { cart } = await store('POST', '/store/carts', { region_id: region.id });
    ({ cart } = await store('POST', `/store/carts/${cart.id}/line-items`, { variant_id: variant.id, quantity }));
    const email = 'ada@example.com';
    ({ cart } = await store('POST', `/store/carts/${cart.id}`, {
      email,
      shipping_address: ADDRESS,
      billing_address: ADDRESS,
    }));
    const { shipping_options } = await store('GET', `/store/shipping-options?cart_id=${cart.id}`);
    const shipping = shipping_options.find((o: Json) => o['name'] === 'Standard Shipping');
    ({ cart } = await store('POST', `/store/carts/${cart.id}/shipping-methods`, { option_id: shipping.id }));
    const { payment_collection } = await store('POST', '/store/payment-collections', { cart_id: cart.id });
    await store('POST', `/store/payment-collections/${payment_collection.id}/payment-sessions`, {
      provider_id: 'pp_system_default',
    });
    const completed = await store('POST', `/store/carts/${cart.id}/complete`, {});
    if (completed['type'] !== 'order') {
      throw new Error(`checkout did not complete an order: ${JSON.stringify(completed).slice(0, 500)}`);
    }
    return {
      orderId: completed['order'].id as string,
      email,
      sku,
      quantity,
      unitPrice,
      shippingAmount: shipping.amount as number,
      ms: Date.now() - started,
    };
  }

  /** The order in the Admin API (logged in with the admin's e-mail and password), and its stock reservations. */
  async adminView(admin: { email: string; password: string }, placed: PlacedOrder): Promise<AdminView> {
    const { token } = await this.call('POST', '/auth/user/emailpass', {}, admin);
    const headers = { authorization: `Bearer ${token}` };
    const { order } = await this.call('GET', `/admin/orders/${placed.orderId}?fields=id,email,total,*items`, headers);
    const { inventory_items } = await this.call('GET', `/admin/inventory-items?sku=${placed.sku}`, headers);
    const { reservations } = await this.call(
      'GET',
      `/admin/reservations?inventory_item_id=${inventory_items[0].id}`,
      headers,
    );
    return { order, reservations } as AdminView;
  }
}
