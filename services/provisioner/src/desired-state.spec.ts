import type { V1Ingress, V1NetworkPolicy } from '@kubernetes/client-node';
import type { Store } from '@urumi/kube';
import type { StoreTls } from './config';
import { Fence, guardrailManifests, ingressManifest } from './desired-state';

const aStore = (name = 'fashion-boutique'): Store => ({
  apiVersion: 'urumi.dev/v1',
  kind: 'Store',
  metadata: { name },
  spec: { storeId: 'id-1', engine: 'woocommerce', owner: 'paul', domain: `${name}.stores.example.com` },
});
const aFence = (tls: StoreTls): Fence => ({
  ingressClass: 'nginx',
  ingressController: { namespace: 'ingress-nginx', podLabels: { 'app.kubernetes.io/name': 'ingress-nginx' } },
  dns: { namespace: 'kube-system', podLabels: { 'k8s-app': 'kube-dns' } },
  tls,
});
/** A NetworkPolicy as the manifests spell it (client-node's type renames `from` to `_from`). */
interface PolicyManifest {
  metadata: { name: string };
  spec: { ingress?: { from: unknown[] }[]; egress?: { to: unknown[] }[] };
}
const policiesOf = (tls: StoreTls) =>
  guardrailManifests(aStore(), aFence(tls)).filter((m) => m.kind === 'NetworkPolicy') as V1NetworkPolicy[];

describe('desired state', () => {
  describe(ingressManifest.name, () => {
    it('serves plain http without TLS', () => {
      const sut = ingressManifest(aStore(), aFence({ mode: 'none' })) as V1Ingress;
      expect(sut.spec?.tls).toBeUndefined();
      expect(sut.metadata?.annotations).toBeUndefined();
    });

    it('lets the controller serve its default certificate: a tls host and no Secret', () => {
      const sut = ingressManifest(aStore(), aFence({ mode: 'default-certificate' })) as V1Ingress;
      expect(sut.spec?.tls).toEqual([{ hosts: ['fashion-boutique.stores.example.com'] }]);
      expect(sut.metadata?.annotations).toBeUndefined();
    });

    it('asks cert-manager for a certificate from the ClusterIssuer', () => {
      const sut = ingressManifest(aStore(), aFence({ mode: 'cert-manager', clusterIssuer: 'letsencrypt-prod' }));
      expect(sut.metadata?.annotations).toEqual({ 'cert-manager.io/cluster-issuer': 'letsencrypt-prod' });
      expect((sut as V1Ingress).spec?.tls).toEqual([
        { hosts: ['fashion-boutique.stores.example.com'], secretName: 'storefront-tls' },
      ]);
    });
  });

  describe(guardrailManifests.name, () => {
    it('lets the ingress controller reach the ACME HTTP-01 solver only with cert-manager', () => {
      const solver = policiesOf({ mode: 'cert-manager', clusterIssuer: 'letsencrypt-prod' }).find(
        (p) => p.metadata?.name === 'allow-acme-http01-solver',
      );
      expect(solver?.spec).toEqual({
        podSelector: { matchLabels: { 'acme.cert-manager.io/http01-solver': 'true' } },
        policyTypes: ['Ingress'],
        ingress: [
          {
            from: [
              {
                namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } },
                podSelector: { matchLabels: { 'app.kubernetes.io/name': 'ingress-nginx' } },
              },
            ],
            ports: [{ protocol: 'TCP', port: 8089 }],
          },
        ],
      });
      for (const mode of ['none', 'default-certificate'] as const) {
        expect([mode, policiesOf({ mode }).map((p) => p.metadata?.name)]).toEqual([
          mode,
          ['default-deny', 'allow-same-store', 'allow-dns', 'allow-ingress-controller'],
        ]);
      }
    });
  });

  describe(`${guardrailManifests.name}: the peers outside the store`, () => {
    // Production's controller runs in kube-system (k3s's Traefik) beside everything else: its pods, not the namespace.
    const sut = guardrailManifests(aStore(), {
      ingressClass: 'traefik',
      ingressController: { namespace: 'kube-system', podLabels: { 'app.kubernetes.io/name': 'traefik' } },
      dns: { namespace: 'dns-system', podLabels: { 'app.kubernetes.io/name': 'coredns' } },
      tls: { mode: 'cert-manager', clusterIssuer: 'letsencrypt-prod' },
    }) as PolicyManifest[];
    const peersOf = (name: string) => {
      const spec = sut.find((p) => p.metadata.name === name)?.spec;
      return [...(spec?.ingress ?? []).flatMap((r) => r.from), ...(spec?.egress ?? []).flatMap((r) => r.to)];
    };
    const traefik = {
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
      podSelector: { matchLabels: { 'app.kubernetes.io/name': 'traefik' } },
    };

    it("admits only the ingress controller's pods to the web pods and the ACME solver", () => {
      expect(peersOf('allow-ingress-controller')).toEqual([traefik]);
      expect(peersOf('allow-acme-http01-solver')).toEqual([traefik]);
    });

    it('resolves names only at the configured DNS pods', () => {
      expect(peersOf('allow-dns')).toEqual([
        {
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'dns-system' } },
          podSelector: { matchLabels: { 'app.kubernetes.io/name': 'coredns' } },
        },
      ]);
    });

    it('selects every pod of the namespace only when no pod labels are configured', () => {
      const [policy] = guardrailManifests(aStore(), {
        ...aFence({ mode: 'none' }),
        ingressController: { namespace: 'ingress-nginx', podLabels: {} },
      }).filter((m) => m.metadata?.name === 'allow-ingress-controller') as V1NetworkPolicy[];
      expect(policy?.spec?.ingress).toEqual([
        {
          from: [
            { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } }, podSelector: {} },
          ],
        },
      ]);
    });
  });
});
