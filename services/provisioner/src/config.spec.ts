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

  describe('store placement (STORE_NODE_SELECTOR, STORE_TOLERATIONS)', () => {
    it.each([
      {},
      { STORE_NODE_SELECTOR: '{}', STORE_TOLERATIONS: '[]' },
      { STORE_NODE_SELECTOR: 'null', STORE_TOLERATIONS: 'null' },
    ])('places stores anywhere by default, or when told so in JSON: %j', (env) => {
      expect(provisionerConfigFromEnv(env).placement).toEqual({ nodeSelector: {}, tolerations: [] });
    });

    it('reads a dedicated node pool in JSON form', () => {
      const sut = provisionerConfigFromEnv({
        STORE_NODE_SELECTOR: '{"urumi.dev/node":"real"}',
        STORE_TOLERATIONS: '[{"key":"urumi.dev/node","operator":"Equal","value":"real","effect":"NoSchedule"}]',
      });
      expect(sut.placement).toEqual({
        nodeSelector: { 'urumi.dev/node': 'real' },
        tolerations: [{ key: 'urumi.dev/node', operator: 'Equal', value: 'real', effect: 'NoSchedule' }],
      });
    });

    it('reads the key=value form, with taints written as kubectl taint writes them', () => {
      const sut = provisionerConfigFromEnv({
        STORE_NODE_SELECTOR: 'urumi.dev/node=real, pool=stores',
        STORE_TOLERATIONS: 'urumi.dev/node=real:NoSchedule,dedicated:NoExecute,spot=yes',
      });
      expect(sut.placement).toEqual({
        nodeSelector: { 'urumi.dev/node': 'real', pool: 'stores' },
        tolerations: [
          { key: 'urumi.dev/node', operator: 'Equal', value: 'real', effect: 'NoSchedule' },
          { key: 'dedicated', operator: 'Exists', effect: 'NoExecute' },
          { key: 'spot', operator: 'Equal', value: 'yes' },
        ],
      });
    });

    it.each([
      ['STORE_NODE_SELECTOR', 'pool', 'STORE_NODE_SELECTOR: "pool" is not key=value'],
      ['STORE_NODE_SELECTOR', '{"pool":1}', 'STORE_NODE_SELECTOR: the value of pool must be a label value'],
      ['STORE_NODE_SELECTOR', '{"pool":', 'STORE_NODE_SELECTOR must be valid JSON or key=value form'],
      ['STORE_NODE_SELECTOR', 'bad key!=x', 'STORE_NODE_SELECTOR: "bad key!" is not a valid label key'],
      ['STORE_TOLERATIONS', 'pool=x:Sometimes', 'STORE_TOLERATIONS[0]: effect must be one of NoSchedule'],
      ['STORE_TOLERATIONS', '{"key":"pool"}', 'STORE_TOLERATIONS must be a JSON array of tolerations'],
      [
        'STORE_TOLERATIONS',
        '[{"key":"pool","operator":"In"}]',
        'STORE_TOLERATIONS[0]: operator must be Equal or Exists',
      ],
      ['STORE_TOLERATIONS', '[{"value":"x"}]', 'STORE_TOLERATIONS[0]: a toleration without a key must use the Exists'],
      ['STORE_TOLERATIONS', '[{"key":"a","operator":"Exists","value":"x"}]', 'the Exists operator takes no value'],
      ['STORE_TOLERATIONS', '[{"key":"a","tolerationSeconds":30}]', 'tolerationSeconds applies to NoExecute only'],
      ['STORE_TOLERATIONS', '[{"key":"a","effects":"NoSchedule"}]', 'STORE_TOLERATIONS[0]: unknown field "effects"'],
    ])('refuses %s=%s, saying why', (name, raw, message) => {
      const load = () => provisionerConfigFromEnv({ [name]: raw });
      expect(load).toThrow(ConfigError);
      expect(load).toThrow(message);
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
      ['a nodeSelector that is a list', 'medusa.yaml', 'nodeSelector: [a]\n', /medusa\.yaml: nodeSelector must map/],
      [
        'a toleration with an unknown effect',
        'woocommerce.yaml',
        'tolerations:\n  - { key: pool, operator: Exists, effect: NoRun }\n',
        /woocommerce\.yaml: tolerations\[0\]: effect must be one of/,
      ],
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
