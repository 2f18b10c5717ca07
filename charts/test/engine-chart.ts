import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadAllYaml, loadYaml } from '@kubernetes/client-node';
import type {
  KubernetesObject,
  V1Container,
  V1ObjectMeta,
  V1PodSpec,
  V1PodTemplateSpec,
} from '@kubernetes/client-node';

export type PodSecurityLevel = 'baseline' | 'restricted';

/** What an engine chart declares in Chart.yaml for the provisioner (charts/README.md, the engine chart contract). */
export interface EngineChart {
  readonly name: string;
  readonly dir: string;
  readonly version: string;
  readonly podSecurity: string;
  readonly credentials: readonly string[];
}

interface ChartYaml {
  name: string;
  version: string;
  annotations?: Record<string, string>;
}

/** Every `charts/store-*` directory that holds a chart (one without Chart.yaml is still being written: skipped). */
export function engineCharts(chartsDir: string): EngineChart[] {
  return readdirSync(chartsDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && entry.name.startsWith('store-'))
    .map((entry) => join(chartsDir, entry.name))
    .filter((dir) => existsSync(join(dir, 'Chart.yaml')))
    .sort()
    .map((dir) => {
      const chart = loadYaml<ChartYaml>(readFileSync(join(dir, 'Chart.yaml'), 'utf8'));
      const annotations = chart.annotations ?? {};
      return {
        name: chart.name,
        dir,
        version: chart.version,
        podSecurity: annotations['urumi.dev/pod-security'] ?? '',
        credentials: (annotations['urumi.dev/credentials'] ?? '')
          .split(',')
          .map((key) => key.trim())
          .filter(Boolean),
      };
    });
}

export type Manifest = KubernetesObject & { spec?: Record<string, unknown> };

export function parseManifests(yaml: string): Manifest[] {
  return (loadAllYaml(yaml) as (Manifest | null)[]).filter((object): object is Manifest => !!object?.kind);
}

/** A workload's pod template, with how many pods of it run at once. */
export interface PodTemplate {
  readonly owner: string;
  readonly replicas: number;
  readonly metadata: V1ObjectMeta;
  readonly spec: V1PodSpec;
  /** PVC templates of a StatefulSet: its pods mount them by these names. */
  readonly claimTemplates: readonly string[];
}

const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'Job', 'ReplicaSet', 'DaemonSet']);

export function podTemplates(manifests: readonly Manifest[]): PodTemplate[] {
  return manifests.flatMap((object): PodTemplate[] => {
    if (object.kind === 'Pod') {
      const pod = object as Manifest & { spec: V1PodSpec };
      return [
        {
          owner: `Pod/${pod.metadata?.name}`,
          replicas: 1,
          metadata: pod.metadata ?? {},
          spec: pod.spec,
          claimTemplates: [],
        },
      ];
    }
    if (!WORKLOAD_KINDS.has(object.kind ?? '')) return [];
    const spec = object.spec as {
      replicas?: number;
      parallelism?: number;
      template: V1PodTemplateSpec;
      volumeClaimTemplates?: { metadata?: V1ObjectMeta }[];
    };
    return [
      {
        owner: `${object.kind}/${object.metadata?.name}`,
        replicas: object.kind === 'Job' ? (spec.parallelism ?? 1) : (spec.replicas ?? 1),
        metadata: spec.template.metadata ?? {},
        spec: spec.template.spec!,
        claimTemplates: (spec.volumeClaimTemplates ?? []).map((claim) => claim.metadata?.name ?? ''),
      },
    ];
  });
}

export function containersOf(spec: V1PodSpec): V1Container[] {
  return [...(spec.initContainers ?? []), ...spec.containers];
}

/**
 * Each workload's pod template as a bare Pod, so a server-side dry-run meets Pod Security admission (which only warns
 * about Deployments and the like, and enforces on pods).
 */
export function podsFor(templates: readonly PodTemplate[]): Manifest[] {
  return templates.map((template) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: template.owner.toLowerCase().replace(/[^a-z0-9-]/g, '-'),
      labels: template.metadata.labels,
    },
    spec: {
      ...template.spec,
      volumes: [
        ...(template.spec.volumes ?? []),
        ...template.claimTemplates.map((name) => ({ name, persistentVolumeClaim: { claimName: `${name}-pod` } })),
      ],
    } as unknown as Record<string, unknown>,
  }));
}

/** CPU in millicores. */
export function millicores(quantity: string | number | undefined): number {
  if (quantity === undefined) return 0;
  const text = String(quantity);
  return text.endsWith('m') ? Number(text.slice(0, -1)) : Number(text) * 1000;
}

const BYTE_SUFFIXES: Record<string, number> = {
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
};

export function bytes(quantity: string | number | undefined): number {
  if (quantity === undefined) return 0;
  const match = /^([0-9.]+)([a-zA-Z]*)$/.exec(String(quantity));
  const factor = match ? BYTE_SUFFIXES[match[2]!] : undefined;
  if (!match || factor === undefined) throw new Error(`not a byte quantity: ${quantity}`);
  return Number(match[1]) * factor;
}
