import { buckets } from '@urumi/contracts';
import { ConfigError, envInt, envJson, envString } from '@urumi/runtime';
import { resolve } from 'node:path';
import { leaderElectionFromEnv } from '@urumi/kube';
import type { LeaderElectionSettings, Plan } from '@urumi/kube';
import { natsSettingsFromEnv, NatsSettings } from '@urumi/messaging';
import { readEngineValues } from './engine-values';
import { parseNodeSelector, parseTolerations, StorePlacement } from './placement';

/**
 * How store Ingresses are served: plain http; https with the ingress controller's default (wildcard)
 * certificate; or https with a certificate per store that cert-manager issues from a ClusterIssuer.
 */
export type StoreTls =
  | { readonly mode: 'none' }
  | { readonly mode: 'default-certificate' }
  | { readonly mode: 'cert-manager'; readonly clusterIssuer: string };

/** Pods a NetworkPolicy peer selects: those carrying `podLabels` (every pod when empty) in `namespace`. */
export interface PodPeer {
  readonly namespace: string;
  readonly podLabels: Readonly<Record<string, string>>;
}

export interface ProvisionerConfig {
  readonly host: string;
  readonly port: number;
  readonly nats: NatsSettings;
  /** Stores reconciled at the same time. */
  readonly workers: number;
  /** Stores are served at <name>.<baseDomain>. */
  readonly baseDomain: string;
  readonly tls: StoreTls;
  /** Follows `tls`: http without it, https with it. */
  readonly urlScheme: 'http' | 'https';
  /** The StorageClass of the stores' volumes; empty: the cluster's default. */
  readonly storageClass: string;
  /** Where the stores' pods run (STORE_NODE_SELECTOR, STORE_TOLERATIONS): a dedicated node pool, or anywhere. */
  readonly placement: StorePlacement;
  readonly plan: Plan;
  /** Where the engine charts (charts/store-<engine>) are. */
  readonly chartsDir: string;
  readonly helmBinary: string;
  /** Helm child processes at once, whatever the workers: each costs tens of MB, counted in the pod's memory limit. */
  readonly helmConcurrency: number;
  /**
   * A Helm release still pending after this long was left by a crash, and is rolled back (helm runs without --wait
   * and takes a second or two; a provisioner killed mid-install takes its helm down with a broken pipe).
   */
  readonly helmStaleLockMs: number;
  /** Engine → values installed under the provisioner's own (ENGINE_VALUES_DIR/<engine>.yaml): registry, images, resources. */
  readonly engineValues: ReadonlyMap<string, Record<string, unknown>>;
  readonly ingressClass: string;
  /** The ingress controller's pods: the only pods outside a store that may reach it. */
  readonly ingressController: PodPeer;
  /** The cluster DNS pods: the only pods outside a store it may reach (port 53). */
  readonly dns: PodPeer;
  /** A store that is not Ready this long after its provisioning began is Failed. */
  readonly provisionTimeoutMs: number;
  /** Every store is looked at again this often, to restore what changed without an event (e.g. a Secret). */
  readonly resyncMs: number;
  readonly lifecycleBucket: string;
  /** Only the replica that leads the Lease reconciles (LEADER_ELECTION and friends, @urumi/kube's leadership.ts). */
  readonly leaderElection: LeaderElectionSettings;
}

export function provisionerConfigFromEnv(env: NodeJS.ProcessEnv): ProvisionerConfig {
  const plan = envString(env, 'STORE_PLAN', 'small');
  const tls = storeTlsFromEnv(env);
  const engineValuesDir = env['ENGINE_VALUES_DIR']?.trim();
  return {
    host: envString(env, 'PROVISIONER_HOST', '127.0.0.1'),
    port: envInt(env, 'PROVISIONER_PORT', 8082, { min: 1, max: 65535 }),
    nats: natsSettingsFromEnv(env),
    workers: envInt(env, 'PROVISIONER_WORKERS', 4, { min: 1, max: 64 }),
    baseDomain: envString(env, 'BASE_DOMAIN', '127.0.0.1.nip.io'),
    tls,
    urlScheme: tls.mode === 'none' ? 'http' : 'https',
    storageClass: envString(env, 'STORE_STORAGE_CLASS', ''),
    placement: {
      nodeSelector: parseNodeSelector('STORE_NODE_SELECTOR', env['STORE_NODE_SELECTOR']),
      tolerations: parseTolerations('STORE_TOLERATIONS', env['STORE_TOLERATIONS']),
    },
    plan: oneOf('STORE_PLAN', plan, ['small', 'medium', 'large'] as const),
    chartsDir: resolve(envString(env, 'CHARTS_DIR', 'charts')),
    helmBinary: envString(env, 'HELM_BINARY', 'helm'),
    helmConcurrency: envInt(env, 'PROVISIONER_HELM_CONCURRENCY', 2, { min: 1, max: 16 }),
    helmStaleLockMs: envInt(env, 'HELM_STALE_LOCK_SECONDS', 30, { min: 1, max: 3600 }) * 1000,
    engineValues: engineValuesDir ? readEngineValues(resolve(engineValuesDir)) : new Map(),
    ingressClass: envString(env, 'INGRESS_CLASS', 'nginx'),
    // The defaults are what values-local.yaml (k3d, kind) runs: ingress-nginx, and CoreDNS in kube-system; the sandbox sets Traefik.
    ingressController: {
      namespace: envString(env, 'INGRESS_NAMESPACE', 'ingress-nginx'),
      podLabels: labelsFromEnv(env, 'INGRESS_POD_LABELS', { 'app.kubernetes.io/name': 'ingress-nginx' }),
    },
    dns: {
      namespace: envString(env, 'DNS_NAMESPACE', 'kube-system'),
      podLabels: labelsFromEnv(env, 'DNS_POD_LABELS', { 'k8s-app': 'kube-dns' }),
    },
    provisionTimeoutMs: envInt(env, 'PROVISION_TIMEOUT_SECONDS', 600, { min: 10 }) * 1000,
    resyncMs: envInt(env, 'RESYNC_SECONDS', 60, { min: 5 }) * 1000,
    lifecycleBucket: envString(env, 'LIFECYCLE_BUCKET', buckets.storeLifecycle),
    leaderElection: leaderElectionFromEnv(env, 'urumi-provisioner'),
  };
}

function storeTlsFromEnv(env: NodeJS.ProcessEnv): StoreTls {
  const mode = oneOf('STORE_TLS', envString(env, 'STORE_TLS', 'none'), [
    'none',
    'default-certificate',
    'cert-manager',
  ] as const);
  if (mode !== 'cert-manager') return { mode };
  const clusterIssuer = env['STORE_TLS_CLUSTER_ISSUER']?.trim();
  if (!clusterIssuer) {
    throw new ConfigError(
      'STORE_TLS_CLUSTER_ISSUER is required when STORE_TLS is cert-manager (the ClusterIssuer to use)',
    );
  }
  return { mode, clusterIssuer };
}

/** A JSON object of label names to values, e.g. `{"app.kubernetes.io/name":"traefik"}`. */
function labelsFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: Record<string, string>): Record<string, string> {
  const value = envJson<unknown>(env, name, fallback);
  const isLabels =
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.values(value).every((v) => typeof v === 'string');
  if (!isLabels) throw new ConfigError(`${name} must be a JSON object of label names to string values`);
  return value as Record<string, string>;
}

function oneOf<T extends string>(name: string, value: string, allowed: readonly T[]): T {
  const found = allowed.find((a) => a === value);
  if (!found) throw new ConfigError(`${name} must be one of ${allowed.join(', ')}, not "${value}"`);
  return found;
}
