import { ConfigError } from '@urumi/runtime';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { provisionerConfigFromEnv } from './config';

describe(provisionerConfigFromEnv.name, () => {
  describe('store TLS', () => {
    it('is off by default: http URLs and the cluster default StorageClass', () => {
      const sut = provisionerConfigFromEnv({});
      expect([sut.tls, sut.urlScheme, sut.storageClass, sut.engineValues.size]).toEqual([
        { mode: 'none' },
        'http',
        '',
        0,
      ]);
    });

    it('serves https with the default certificate or with cert-manager, and reads the StorageClass', () => {
      expect(provisionerConfigFromEnv({ STORE_TLS: 'default-certificate' })).toMatchObject({
        tls: { mode: 'default-certificate' },
        urlScheme: 'https',
      });
      const sut = provisionerConfigFromEnv({
        STORE_TLS: 'cert-manager',
        STORE_TLS_CLUSTER_ISSUER: 'letsencrypt-prod',
        STORE_STORAGE_CLASS: 'hcloud-volumes',
      });
      expect(sut).toMatchObject({
        tls: { mode: 'cert-manager', clusterIssuer: 'letsencrypt-prod' },
        urlScheme: 'https',
        storageClass: 'hcloud-volumes',
      });
    });

    it('names what is wrong: an unknown mode, or cert-manager without an issuer', () => {
      expect(() => provisionerConfigFromEnv({ STORE_TLS: 'https' })).toThrow(
        new ConfigError('STORE_TLS must be one of none, default-certificate, cert-manager, not "https"'),
      );
      expect(() => provisionerConfigFromEnv({ STORE_TLS: 'cert-manager' })).toThrow(/STORE_TLS_CLUSTER_ISSUER/);
    });
  });

  describe("the store's network peers", () => {
    it('defaults to what the sandbox and values-local.yaml run: ingress-nginx, and CoreDNS in kube-system', () => {
      const sut = provisionerConfigFromEnv({});
      expect([sut.ingressController, sut.dns]).toEqual([
        { namespace: 'ingress-nginx', podLabels: { 'app.kubernetes.io/name': 'ingress-nginx' } },
        { namespace: 'kube-system', podLabels: { 'k8s-app': 'kube-dns' } },
      ]);
    });

    it("reads the ingress controller's and DNS's namespace and pod labels", () => {
      const sut = provisionerConfigFromEnv({
        INGRESS_NAMESPACE: 'kube-system',
        INGRESS_POD_LABELS: '{"app.kubernetes.io/name":"traefik"}',
        DNS_NAMESPACE: 'dns-system',
        DNS_POD_LABELS: '{"app.kubernetes.io/name":"coredns","tier":"node"}',
      });
      expect([sut.ingressController, sut.dns]).toEqual([
        { namespace: 'kube-system', podLabels: { 'app.kubernetes.io/name': 'traefik' } },
        { namespace: 'dns-system', podLabels: { 'app.kubernetes.io/name': 'coredns', tier: 'node' } },
      ]);
    });

    it.each(['["traefik"]', '{"app":1}', 'app=traefik'])('refuses pod labels that are not a label map: %s', (raw) => {
      expect(() => provisionerConfigFromEnv({ INGRESS_POD_LABELS: raw })).toThrow(ConfigError);
    });
  });

  describe('engine value overrides (ENGINE_VALUES_DIR)', () => {
    let dir = '';
    const write = (name: string, text: string) => writeFileSync(join(dir, name), text);
    const load = () => provisionerConfigFromEnv({ ENGINE_VALUES_DIR: dir }).engineValues;

    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'engine-values-'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it("reads each engine's file, as a mounted ConfigMap lays them out", () => {
      // A ConfigMap volume: the files are symlinks into a `..data` directory.
      mkdirSync(join(dir, '..data'));
      writeFileSync(join(dir, '..data', 'woocommerce.yaml'), 'image:\n  repository: ghcr.io/acme/store-woocommerce\n');
      symlinkSync(join('..data', 'woocommerce.yaml'), join(dir, 'woocommerce.yaml'));
      write('medusa.yaml', '{}\n');

      expect(Object.fromEntries(load())).toEqual({
        woocommerce: { image: { repository: 'ghcr.io/acme/store-woocommerce' } },
        medusa: {},
      });
    });

    it.each([
      ['invalid YAML', 'woocommerce.yaml', 'image: [', /woocommerce\.yaml is not valid YAML/],
      ['a list', 'medusa.yaml', '- a\n', /medusa\.yaml must hold a mapping/],
      ['an unknown engine', 'magento.yaml', 'image: {}\n', /magento\.yaml: no engine of that name/],
      [
        'a value the provisioner sets',
        'woocommerce.yaml',
        'persistence:\n  database: { size: 3Gi }\n  storageClass: slow\n',
        /woocommerce\.yaml: persistence\.storageClass is set by the provisioner/,
      ],
      ['the store', 'medusa.yaml', 'store:\n  url: http://x\n', /medusa\.yaml: store\.url is set by the provisioner/],
    ])('stops start-up on %s, naming the file and the key', (_what, name, text, message) => {
      write(name, text);
      expect(load).toThrow(ConfigError);
      expect(load).toThrow(message);
    });

    it('stops start-up when the directory cannot be read', () => {
      rmSync(dir, { recursive: true });
      expect(load).toThrow(/ENGINE_VALUES_DIR .* cannot be read/);
    });
  });
});
