import type { ExecArgs } from '@medusajs/framework/types';
import { ContainerRegistrationKeys, Modules, ProductStatus } from '@medusajs/framework/utils';
import {
  createApiKeysWorkflow,
  createInventoryLevelsWorkflow,
  createProductsWorkflow,
  createRegionsWorkflow,
  createShippingOptionsWorkflow,
  createShippingProfilesWorkflow,
  createStockLocationsWorkflow,
  linkSalesChannelsToApiKeyWorkflow,
  linkSalesChannelsToStockLocationWorkflow,
  updateStoresWorkflow,
} from '@medusajs/medusa/core-flows';

/** What the seed puts in a new store. Every name here is also the key the seed looks the item up by. */
export const catalog = {
  currencies: ['eur', 'usd'],
  region: { name: 'Europe', currency: 'eur', countries: ['gb', 'de', 'dk', 'se', 'fr', 'es', 'it'] },
  paymentProvider: 'pp_system_default',
  fulfillmentProvider: 'manual_manual',
  stockLocation: { name: 'Main warehouse', countryCode: 'de', city: 'Berlin', address: 'Lagerstrasse 1' },
  fulfillmentSet: { name: 'Main warehouse delivery', zone: 'Europe' },
  shippingProfile: 'Default Shipping Profile',
  shippingOption: { name: 'Standard Shipping', amount: 10 },
  publishableKey: process.env.MEDUSA_PUBLISHABLE_KEY_TITLE || 'Storefront',
  stockedQuantity: 100,
  products: [
    {
      title: 'Urumi T-Shirt',
      handle: 'urumi-t-shirt',
      description: 'A soft cotton tee.',
      option: 'Size',
      variants: [
        { title: 'S', sku: 'URUMI-TEE-S', eur: 20, usd: 24 },
        { title: 'M', sku: 'URUMI-TEE-M', eur: 20, usd: 24 },
        { title: 'L', sku: 'URUMI-TEE-L', eur: 22, usd: 26 },
      ],
    },
    {
      title: 'Urumi Mug',
      handle: 'urumi-mug',
      description: 'A stoneware mug, 300 ml.',
      option: 'Colour',
      variants: [{ title: 'White', sku: 'URUMI-MUG-WHITE', eur: 12, usd: 14 }],
    },
  ],
};

/**
 * Seeds a new store: a region paid through the system provider, a stock location with a fulfillment set and a
 * flat shipping option, sample products with prices and stock, and a publishable key for the storefront.
 * Every item is looked up before it is created, so a second run creates nothing (the starter's seed is not
 * idempotent; this one is).
 */
export default async function seed({ container }: ExecArgs): Promise<void> {
  const logger = container.resolve(ContainerRegistrationKeys.LOGGER);
  const query = container.resolve(ContainerRegistrationKeys.QUERY);
  const link = container.resolve(ContainerRegistrationKeys.LINK);
  const storeModule = container.resolve(Modules.STORE);
  const salesChannelModule = container.resolve(Modules.SALES_CHANNEL);
  const regionModule = container.resolve(Modules.REGION);
  const stockLocationModule = container.resolve(Modules.STOCK_LOCATION);
  const fulfillmentModule = container.resolve(Modules.FULFILLMENT);
  const apiKeyModule = container.resolve(Modules.API_KEY);
  const productModule = container.resolve(Modules.PRODUCT);

  let created = 0;
  const made = (what: string): void => {
    created++;
    logger.info(`Seed: created ${what}`);
  };

  // The loaders create the store and its default sales channel on every start; the seed builds on them.
  const [store] = await storeModule.listStores({}, { relations: ['supported_currencies'] });
  const [salesChannel] = store.default_sales_channel_id
    ? await salesChannelModule.listSalesChannels({ id: store.default_sales_channel_id })
    : await salesChannelModule.listSalesChannels({ name: 'Default Sales Channel' });
  if (!salesChannel) throw new Error('The default sales channel is missing; run the migrations first');

  const currencies = (store.supported_currencies ?? []).map((c) => c.currency_code);
  if (catalog.currencies.some((c) => !currencies.includes(c)) || store.default_sales_channel_id !== salesChannel.id) {
    await updateStoresWorkflow(container).run({
      input: {
        selector: { id: store.id },
        update: {
          default_sales_channel_id: salesChannel.id,
          supported_currencies: catalog.currencies.map((currency_code, i) => ({
            currency_code,
            is_default: i === 0,
          })),
        },
      },
    });
    made(`store currencies ${catalog.currencies.join(', ')}`);
  }

  let [region] = await regionModule.listRegions({ name: catalog.region.name });
  if (!region) {
    const { result } = await createRegionsWorkflow(container).run({
      input: {
        regions: [
          {
            name: catalog.region.name,
            currency_code: catalog.region.currency,
            countries: catalog.region.countries,
            payment_providers: [catalog.paymentProvider],
          },
        ],
      },
    });
    region = result[0];
    made(`region ${region.name}`);
  }

  let [location] = await stockLocationModule.listStockLocations({ name: catalog.stockLocation.name });
  if (!location) {
    const { result } = await createStockLocationsWorkflow(container).run({
      input: {
        locations: [
          {
            name: catalog.stockLocation.name,
            address: {
              address_1: catalog.stockLocation.address,
              city: catalog.stockLocation.city,
              country_code: catalog.stockLocation.countryCode,
            },
          },
        ],
      },
    });
    location = result[0];
    made(`stock location ${location.name}`);
  }

  const locationLinks = async () => {
    const { data } = await query.graph({
      entity: 'stock_location',
      fields: ['id', 'fulfillment_providers.id', 'fulfillment_sets.id', 'sales_channels.id'],
      filters: { id: location.id },
    });
    return data[0] as unknown as {
      fulfillment_providers?: { id: string }[];
      fulfillment_sets?: { id: string }[];
      sales_channels?: { id: string }[];
    };
  };

  let links = await locationLinks();
  if (!links.fulfillment_providers?.some((p) => p.id === catalog.fulfillmentProvider)) {
    await link.create({
      [Modules.STOCK_LOCATION]: { stock_location_id: location.id },
      [Modules.FULFILLMENT]: { fulfillment_provider_id: catalog.fulfillmentProvider },
    });
    made(`link ${location.name} → ${catalog.fulfillmentProvider}`);
  }
  if (!links.sales_channels?.some((s) => s.id === salesChannel.id)) {
    await linkSalesChannelsToStockLocationWorkflow(container).run({
      input: { id: location.id, add: [salesChannel.id] },
    });
    made(`link ${location.name} → ${salesChannel.name}`);
  }

  let [shippingProfile] = await fulfillmentModule.listShippingProfiles({ type: 'default' });
  if (!shippingProfile) {
    const { result } = await createShippingProfilesWorkflow(container).run({
      input: { data: [{ name: catalog.shippingProfile, type: 'default' }] },
    });
    shippingProfile = result[0];
    made(`shipping profile ${shippingProfile.name}`);
  }

  let [fulfillmentSet] = await fulfillmentModule.listFulfillmentSets(
    { name: catalog.fulfillmentSet.name },
    { relations: ['service_zones'] },
  );
  if (!fulfillmentSet) {
    fulfillmentSet = await fulfillmentModule.createFulfillmentSets({
      name: catalog.fulfillmentSet.name,
      type: 'shipping',
      service_zones: [
        {
          name: catalog.fulfillmentSet.zone,
          geo_zones: catalog.region.countries.map((country_code) => ({ country_code, type: 'country' as const })),
        },
      ],
    });
    [fulfillmentSet] = await fulfillmentModule.listFulfillmentSets(
      { id: fulfillmentSet.id },
      { relations: ['service_zones'] },
    );
    made(`fulfillment set ${fulfillmentSet.name}`);
  }
  links = await locationLinks();
  if (!links.fulfillment_sets?.some((f) => f.id === fulfillmentSet.id)) {
    await link.create({
      [Modules.STOCK_LOCATION]: { stock_location_id: location.id },
      [Modules.FULFILLMENT]: { fulfillment_set_id: fulfillmentSet.id },
    });
    made(`link ${location.name} → ${fulfillmentSet.name}`);
  }

  const serviceZone = fulfillmentSet.service_zones[0];
  const [shippingOption] = await fulfillmentModule.listShippingOptions({
    name: catalog.shippingOption.name,
    service_zone: { id: serviceZone.id },
  });
  if (!shippingOption) {
    await createShippingOptionsWorkflow(container).run({
      input: [
        {
          name: catalog.shippingOption.name,
          price_type: 'flat',
          provider_id: catalog.fulfillmentProvider,
          service_zone_id: serviceZone.id,
          shipping_profile_id: shippingProfile.id,
          type: { label: 'Standard', description: 'Ships in 2-3 days.', code: 'standard' },
          prices: [
            ...catalog.currencies.map((currency_code) => ({ currency_code, amount: catalog.shippingOption.amount })),
            { region_id: region.id, amount: catalog.shippingOption.amount },
          ],
          rules: [
            { attribute: 'enabled_in_store', value: 'true', operator: 'eq' },
            { attribute: 'is_return', value: 'false', operator: 'eq' },
          ],
        },
      ],
    });
    made(`shipping option ${catalog.shippingOption.name}`);
  }

  let publishableKey = (await apiKeyModule.listApiKeys({ title: catalog.publishableKey, type: 'publishable' })).find(
    (key) => !key.revoked_at,
  );
  if (!publishableKey) {
    const { result } = await createApiKeysWorkflow(container).run({
      input: { api_keys: [{ title: catalog.publishableKey, type: 'publishable', created_by: '' }] },
    });
    publishableKey = result[0];
    made(`publishable API key ${catalog.publishableKey}`);
  }
  const { data: keyChannels } = await query.graph({
    entity: 'api_key',
    fields: ['id', 'sales_channels.id'],
    filters: { id: publishableKey.id },
  });
  const linkedChannels = (keyChannels[0] as unknown as { sales_channels?: { id: string }[] }).sales_channels ?? [];
  if (!linkedChannels.some((s) => s.id === salesChannel.id)) {
    await linkSalesChannelsToApiKeyWorkflow(container).run({
      input: { id: publishableKey.id, add: [salesChannel.id] },
    });
    made(`link publishable API key → ${salesChannel.name}`);
  }

  const existing = await productModule.listProducts({ handle: catalog.products.map((p) => p.handle) });
  const missing = catalog.products.filter((p) => !existing.some((e) => e.handle === p.handle));
  if (missing.length) {
    await createProductsWorkflow(container).run({
      input: {
        products: missing.map((p) => ({
          title: p.title,
          handle: p.handle,
          description: p.description,
          status: ProductStatus.PUBLISHED,
          shipping_profile_id: shippingProfile.id,
          options: [{ title: p.option, values: p.variants.map((v) => v.title) }],
          variants: p.variants.map((v) => ({
            title: v.title,
            sku: v.sku,
            manage_inventory: true,
            options: { [p.option]: v.title },
            prices: [
              { currency_code: 'eur', amount: v.eur },
              { currency_code: 'usd', amount: v.usd },
            ],
          })),
          sales_channels: [{ id: salesChannel.id }],
        })),
      },
    });
    missing.forEach((p) => made(`product ${p.title}`));
  }

  const skus = catalog.products.flatMap((p) => p.variants.map((v) => v.sku));
  const { data: items } = await query.graph({
    entity: 'inventory_item',
    fields: ['id', 'sku', 'location_levels.location_id'],
    filters: { sku: skus },
  });
  const unstocked = (
    items as unknown as { id: string; sku: string; location_levels?: { location_id: string }[] }[]
  ).filter((item) => !item.location_levels?.some((level) => level.location_id === location.id));
  if (unstocked.length) {
    await createInventoryLevelsWorkflow(container).run({
      input: {
        inventory_levels: unstocked.map((item) => ({
          inventory_item_id: item.id,
          location_id: location.id,
          stocked_quantity: catalog.stockedQuantity,
        })),
      },
    });
    unstocked.forEach((item) => made(`stock of ${item.sku} at ${location.name}`));
  }

  // The server and worker of this revision wait for this row (bin/wait.js setup) before they start.
  const revision = process.env.URUMI_SETUP_REVISION || 'local';
  const pg = container.resolve(ContainerRegistrationKeys.PG_CONNECTION);
  await pg.raw('create table if not exists urumi_setup (revision text primary key, finished_at timestamptz not null)');
  await pg.raw(
    'insert into urumi_setup (revision, finished_at) values (?, now()) on conflict (revision) do update set finished_at = now()',
    [revision],
  );
  logger.info(`Seed finished: created ${created} item(s)`);
}
