import type { KubernetesObject } from '@kubernetes/client-node';
import { namespaceOf, Store, storeLabels } from '@urumi/kube';
import type { EngineChart } from './engines';
import { plans } from './plans';

export interface Fence {
  readonly ingressClass: string;
  readonly ingressNamespace: string;
}

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
 * controller reaching the store's web pods. With no egress allowed beyond those, a store reaches no
 * other store, no platform service and not the API server.
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
          to: [
            {
              namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
              podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
            },
          ],
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
      ingress: [
        { from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': fence.ingressNamespace } } }] },
      ],
    }),
  ];
}

/** The store's Ingress: its host routed to the engine chart's `storefront` Service. */
export function ingressManifest(store: Store, fence: Fence): KubernetesObject {
  const namespace = namespaceOf(store.metadata.name);
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name: 'storefront', namespace, labels: storeLabels(store) },
    spec: {
      ingressClassName: fence.ingressClass,
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

/** The values the engine chart is installed with (charts/README.md). */
export function chartValues(store: Store, urlScheme: string): Record<string, unknown> {
  return {
    store: {
      name: store.metadata.name,
      host: store.spec.domain,
      url: `${urlScheme}://${store.spec.domain}`,
      adminEmail: `admin@${store.spec.domain}`,
    },
    credentials: { secretName: CREDENTIALS_SECRET },
    persistence: { storageClass: '' },
  };
}

export const CREDENTIALS_SECRET = 'store-credentials';
