import { join } from 'node:path';
import { loadAllYaml } from '@kubernetes/client-node';
import type { KubernetesObject, V1ConfigMap, V1Secret, V1StatefulSet } from '@kubernetes/client-node';
import { NatsCluster, NatsServerPorts } from './nats-cluster';
import { repoRoot } from './paths';
import { Sandbox } from './sandbox';

const CHART_DIR = join(repoRoot, 'charts/platform');
const RELEASE = 'urumi';
const NAMESPACE = 'urumi-system';

/** The platform chart's NATS as `helm template` renders it. */
export interface RenderedNats {
  readonly config: string;
  /** Each NATS user's password (every service, and admin), from the Secret the chart generates. */
  readonly passwords: Readonly<Record<string, string>>;
  readonly statefulSet: V1StatefulSet;
}

/** Renders templates/nats.yaml of the platform chart with one of its values files (fresh passwords each time). */
export async function renderChartNats(sandbox: Sandbox, valuesFile = 'values-local.yaml'): Promise<RenderedNats> {
  const yaml = await sandbox.helm([
    'template',
    RELEASE,
    CHART_DIR,
    '-n',
    NAMESPACE,
    '-f',
    join(CHART_DIR, valuesFile),
    '--show-only',
    'templates/nats.yaml',
  ]);
  const manifests = (loadAllYaml(yaml) as (KubernetesObject | null)[]).filter((object) => !!object?.kind);
  const find = <T>(kind: string) => {
    const found = manifests.find((manifest) => manifest?.kind === kind);
    if (!found) throw new Error(`templates/nats.yaml rendered no ${kind}`);
    return found as unknown as T;
  };
  const secret = find<V1Secret>('Secret');
  const passwords = Object.fromEntries(
    Object.entries(secret.data ?? {}).map(([user, value]) => [user, Buffer.from(value, 'base64').toString()]),
  );
  const config = find<V1ConfigMap>('ConfigMap').data?.['nats.conf'];
  if (!config) throw new Error('templates/nats.yaml rendered no nats.conf');
  return { config, passwords, statefulSet: find('StatefulSet') };
}

/** A NATS user's password from the rendered Secret. */
export function passwordOf(rendered: Pick<RenderedNats, 'passwords'>, user: string): string {
  const password = rendered.passwords[user];
  if (password === undefined) throw new Error(`the chart's NATS has no user "${user}"`);
  return password;
}

/** The nats container's environment as the kubelet would resolve it for pod `<release>-nats-<index>`. */
function podEnv(rendered: RenderedNats, index: number): Record<string, string> {
  const env: Record<string, string> = {};
  const container = rendered.statefulSet.spec?.template.spec?.containers[0];
  if (!container) throw new Error('templates/nats.yaml rendered a StatefulSet without a container');
  for (const variable of container.env ?? []) {
    const from = variable.valueFrom;
    if (variable.value !== undefined) {
      env[variable.name] = variable.value.replace(/\$\(([A-Za-z0-9_]+)\)/g, (ref, name: string) => env[name] ?? ref);
    } else if (from?.secretKeyRef) {
      env[variable.name] = passwordOf(rendered, from.secretKeyRef.key);
    } else if (from?.fieldRef?.fieldPath === 'metadata.name') {
      env[variable.name] = `${RELEASE}-nats-${index}`;
    }
    // resourceFieldRef (GOMEMLIMIT from the memory limit): left to nats-server's default here.
  }
  return env;
}

/** The rendered nats.conf with the pod's fixed ports, volume and route host names swapped for loopback ones. */
function onLoopback(config: string, server: NatsServerPorts, all: readonly NatsServerPorts[]): string {
  let local = config;
  const swap = (pattern: RegExp, replacement: (match: string, ...groups: string[]) => string) => {
    if (!pattern.test(local)) throw new Error(`the chart's nats.conf has no ${pattern}:\n${config}`);
    local = local.replace(pattern, replacement);
  };
  swap(/^port: 4222$/m, () => `listen: 127.0.0.1:${server.client}`);
  swap(/^http_port: 8222$/m, () => `http: 127.0.0.1:${server.monitor}`);
  swap(/store_dir: \/data$/m, () => `store_dir: "${server.storeDir}"`);
  if (all.length > 1) {
    swap(/^ {2}port: 6222$/m, () => `  listen: 127.0.0.1:${server.cluster}`);
    swap(/nats:\/\/[a-z-]+-nats-(\d+)\.\S+:6222/g, (route, index) => {
      const peer = all[Number(index)];
      if (!peer) throw new Error(`the chart's nats.conf routes to ${route}, beyond the ${all.length} servers here`);
      return `nats://127.0.0.1:${peer.cluster}`;
    });
  }
  return local;
}

/** `size` nats-servers on loopback running the rendered chart configuration; `dir` keeps their files (else a temp dir). */
export function startChartNats(rendered: RenderedNats, size: number, dir?: string): Promise<NatsCluster> {
  return NatsCluster.start({
    size,
    dir,
    config: (server, all) => onLoopback(rendered.config, server, all),
    env: (server) => podEnv(rendered, server.index),
  });
}
