import type { KubernetesObject } from '@kubernetes/client-node';
import { namespaceOf, Store, storeLabels } from '@urumi/kube';
import type { PodPeer, StoreTls } from './config';
import type { EngineChart } from './engines';
import { plans } from './plans';

export interface Fence {
  readonly ingressClass: string;
  readonly ingressController: PodPeer;
  readonly dns: PodPeer;
  readonly tls: StoreTls;
}

/** A NetworkPolicy peer: these pods of that namespace only, never the whole namespace (it may be kube-system). */
const peerOf = ({ namespace, podLabels }: PodPeer) => ({
  namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': namespace } },
  podSelector: Object.keys(podLabels).length > 0 ? { matchLabels: { ...podLabels } } : {},
});

/** cert-manager's HTTP-01 solver pod, which it runs in the store's namespace while it proves the domain. */
const ACME_SOLVER = { label: 'acme.cert-manager.io/http01-solver', port: 8089 };

const podSecurityLabels = (level: string) =>
  Object.fromEntries(
    ['enforce', 'audit', 'warn'].flatMap((mode) => [
      [`pod-security.kubernetes.io/${mode}`, level],
      [`pod-security.kubernetes.io/${mode}-version`, 'latest'],
    ]),
  );

/** The store's namespace, labelled for ownership and for the Pod Security level its engine needs. */
export function namespaceManifest(store: Store, chart: EngineChart): KubernetesObject {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name: namespaceOf(store.metadata.name),
      labels: { ...storeLabels(store), ...podSecurityLabels(chart.podSecurity) },
      annotations: { 'urumi.dev/owner': store.spec.owner, 'urumi.dev/engine': store.spec.engine },
    },
  };
}

/**
 * What fences a store in, applied before anything runs there: a ResourceQuota and a LimitRange sized
 * by plan, and NetworkPolicies that deny everything but DNS, traffic inside the store, and the ingress
 * controller reaching the store's web pods (and, with cert-manager, its HTTP-01 solver). With no egress
 * allowed beyond those, a store reaches no other store, no platform service and not the API server.
 */
export function guardrailManifests(store: Store, fence: Fence): KubernetesObject[] {
  const namespace = namespaceOf(store.metadata.name);
  const metadata = (name: string) => ({ name, namespace, labels: storeLabels(store) });
  const plan = plans[store.spec.plan ?? 'small'];
  const policy = (name: string, spec: Record<string, unknown>) => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: metadata(name),
    spec,
  });
  const fromIngressController = peerOf(fence.ingressController);
  // The solver fits every plan's quota: one pod (the engines run at most 5 of 10) with cert-manager's default
  // 10m/64Mi requests and 100m/64Mi limits (the engines leave 100m/256Mi and 200m/512Mi: charts/README.md), and one
  // Service (at most 3 of 5), which must be ClusterIP: the quota allows no NodePort (deploy/README.md).
  const acmeSolver =
    fence.tls.mode === 'cert-manager'
      ? [
          policy('allow-acme-http01-solver', {
            podSelector: { matchLabels: { [ACME_SOLVER.label]: 'true' } },
            policyTypes: ['Ingress'],
            ingress: [{ from: [fromIngressController], ports: [{ protocol: 'TCP', port: ACME_SOLVER.port }] }],
          }),
        ]
      : [];
  return [
    { apiVersion: 'v1', kind: 'ResourceQuota', metadata: metadata('store-quota'), spec: { hard: plan.quota } },
    {
      apiVersion: 'v1',
      kind: 'LimitRange',
      metadata: metadata('store-limits'),
      spec: {
        limits: [
          {
            type: 'Container',
            defaultRequest: { cpu: '100m', memory: '128Mi' },
            default: { cpu: '500m', memory: '512Mi' },
          },
          { type: 'PersistentVolumeClaim', max: { storage: plan.maxPvc } },
        ],
      },
    },
    policy('default-deny', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] }),
    policy('allow-same-store', {
      podSelector: {},
      policyTypes: ['Ingress', 'Egress'],
      ingress: [{ from: [{ podSelector: {} }] }],
      egress: [{ to: [{ podSelector: {} }] }],
    }),
    policy('allow-dns', {
      podSelector: {},
      policyTypes: ['Egress'],
      egress: [
        {
          to: [peerOf(fence.dns)],
          ports: [
            { protocol: 'UDP', port: 53 },
            { protocol: 'TCP', port: 53 },
          ],
        },
      ],
    }),
    policy('allow-ingress-controller', {
      podSelector: { matchLabels: { 'urumi.dev/role': 'web' } },
      policyTypes: ['Ingress'],
      ingress: [{ from: [fromIngressController] }],
    }),
    ...acmeSolver,
  ];
}

/**
 * The store's Ingress: its host routed to the engine chart's `storefront` Service, over TLS with the
 * controller's default certificate or with one cert-manager issues into the Secret `storefront-tls`.
 */
export function ingressManifest(store: Store, fence: Fence): KubernetesObject {
  const namespace = namespaceOf(store.metadata.name);
  const hosts = [store.spec.domain];
  const { tls } = fence;
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: {
      name: 'storefront',
      namespace,
      labels: storeLabels(store),
      ...(tls.mode === 'cert-manager' && {
        annotations: { 'cert-manager.io/cluster-issuer': tls.clusterIssuer },
      }),
    },
    spec: {
      ingressClassName: fence.ingressClass,
      ...(tls.mode === 'default-certificate' && { tls: [{ hosts }] }),
      ...(tls.mode === 'cert-manager' && { tls: [{ hosts, secretName: 'storefront-tls' }] }),
      rules: [
        {
          host: store.spec.domain,
          http: {
            paths: [
              {
                path: '/',
                pathType: 'Prefix',
                backend: { service: { name: 'storefront', port: { name: 'http' } } },
              },
            ],
          },
        },
      ],
    },
  } as KubernetesObject;
}
