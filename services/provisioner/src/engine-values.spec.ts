import type { Store } from '@urumi/kube';
import { chartValues } from './engine-values';

const aStore = (name = 'fashion-boutique'): Store => ({
  apiVersion: 'urumi.dev/v1',
  kind: 'Store',
  metadata: { name },
  spec: { storeId: 'id-1', engine: 'woocommerce', owner: 'paul', domain: `${name}.stores.example.com` },
});

describe(chartValues.name, () => {
  const settings = { urlScheme: 'https', storageClass: 'fast-ssd', placement: { nodeSelector: {}, tolerations: [] } };

  it('sets the store, its credentials and the StorageClass', () => {
    expect(chartValues(aStore(), settings)).toEqual({
      store: {
        name: 'fashion-boutique',
        host: 'fashion-boutique.stores.example.com',
        url: 'https://fashion-boutique.stores.example.com',
        adminEmail: 'admin@fashion-boutique.stores.example.com',
      },
      credentials: { secretName: 'store-credentials' },
      persistence: { storageClass: 'fast-ssd' },
      nodeSelector: {},
      tolerations: [],
    });
  });

  describe('placement', () => {
    const pool = {
      nodeSelector: { 'urumi.dev/node': 'real' },
      tolerations: [
        { key: 'urumi.dev/node', operator: 'Equal' as const, value: 'real', effect: 'NoSchedule' as const },
      ],
    };

    it("gives every engine the provisioner's node selector and tolerations", () => {
      const sut = chartValues(aStore(), { ...settings, placement: pool }, { image: { tag: '1' } });
      expect([sut['nodeSelector'], sut['tolerations'], sut['image']]).toEqual([
        { 'urumi.dev/node': 'real' },
        pool.tolerations,
        { tag: '1' },
      ]);
    });

    it("lets an engine's overrides replace each whole, not merge into it", () => {
      const sut = chartValues(aStore(), { ...settings, placement: pool }, { nodeSelector: {}, tolerations: [] });
      expect([sut['nodeSelector'], sut['tolerations']]).toEqual([{}, []]);
      const other = chartValues(aStore(), { ...settings, placement: pool }, { nodeSelector: { pool: 'php' } });
      expect([other['nodeSelector'], other['tolerations']]).toEqual([{ pool: 'php' }, pool.tolerations]);
    });
  });

  it("lays its own values over the engine's overrides, merging mappings key by key", () => {
    const overrides = {
      image: { repository: 'ghcr.io/acme/store-woocommerce' },
      persistence: { storageClass: 'slow', database: { size: '3Gi' } },
      store: { url: 'http://elsewhere' },
    };
    const sut = chartValues(aStore(), settings, overrides);
    expect(sut).toMatchObject({
      image: { repository: 'ghcr.io/acme/store-woocommerce' },
      persistence: { storageClass: 'fast-ssd', database: { size: '3Gi' } },
      store: { url: 'https://fashion-boutique.stores.example.com', name: 'fashion-boutique' },
    });
    expect(overrides.persistence.storageClass).toBe('slow');
  });
});
