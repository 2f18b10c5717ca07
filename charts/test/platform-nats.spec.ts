import { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { V1ConfigMap, V1Secret, V1StatefulSet } from '@kubernetes/client-node';
import {
  defineStream,
  JetStreamPublisher,
  KeyValueBuckets,
  MessagingModule,
  NATS_CONNECTION,
  NatsSettings,
} from '@urumi/messaging';
import { eventually, NatsCluster, NatsServerPorts, testSandbox } from '@urumi/sandbox';
import { join, resolve } from 'node:path';
import { NatsConnection } from 'nats';
import { Manifest, parseManifests } from './engine-chart';

// The platform chart's NATS as nats-server runs it: the rendered nats.conf and the StatefulSet's environment
// (passwords from the generated Secret), on loopback ports instead of pod addresses, with the services' own
// messaging code connecting as the services do.
jest.setTimeout(120_000);

const chartDir = join(resolve(__dirname, '../..'), 'charts/platform');
const RELEASE = 'urumi';
const NAMESPACE = 'urumi-system';

interface RenderedNats {
  readonly config: string;
  /** Each service's NATS password, from the Secret the chart generates. */
  readonly passwords: Readonly<Record<string, string>>;
  readonly statefulSet: V1StatefulSet;
}

async function renderNats(valuesFile: string): Promise<RenderedNats> {
  const yaml = await testSandbox().helm([
    'template',
    RELEASE,
    chartDir,
    '-n',
    NAMESPACE,
    '-f',
    join(chartDir, valuesFile),
    '--show-only',
    'templates/nats.yaml',
  ]);
  const manifests = parseManifests(yaml);
  const find = <T>(kind: string) => {
    const found = manifests.find((manifest: Manifest) => manifest.kind === kind);
    if (!found) throw new Error(`templates/nats.yaml rendered no ${kind}`);
    return found as unknown as T;
  };
  const secret = find<V1Secret>('Secret');
  const passwords = Object.fromEntries(
    Object.entries(secret.data ?? {}).map(([user, value]) => [user, Buffer.from(value, 'base64').toString()]),
  );
  return { config: find<V1ConfigMap>('ConfigMap').data!['nats.conf']!, passwords, statefulSet: find('StatefulSet') };
}

/** The nats container's environment as the kubelet would resolve it for pod `<release>-nats-<index>`. */
function podEnv(rendered: RenderedNats, index: number): Record<string, string> {
  const env: Record<string, string> = {};
  const [container] = rendered.statefulSet.spec!.template.spec!.containers;
  for (const variable of container!.env ?? []) {
    const from = variable.valueFrom;
    if (variable.value !== undefined) {
      env[variable.name] = variable.value.replace(/\$\(([A-Za-z0-9_]+)\)/g, (ref, name: string) => env[name] ?? ref);
    } else if (from?.secretKeyRef) {
      env[variable.name] = rendered.passwords[from.secretKeyRef.key]!;
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
    swap(/nats:\/\/[a-z-]+-nats-(\d+)\.\S+:6222/g, (_, index) => `nats://127.0.0.1:${all[Number(index)]!.cluster}`);
  }
  return local;
}

async function startRendered(rendered: RenderedNats, size: number): Promise<NatsCluster> {
  return NatsCluster.start({
    size,
    config: (server, all) => onLoopback(rendered.config, server, all),
    env: (server) => podEnv(rendered, server.index),
  });
}

/** A Nest application with the messaging module, as a service builds it. */
async function messagingApp(nats: NatsSettings, name: string, streams = [STREAM]): Promise<INestApplicationContext> {
  return NestFactory.createApplicationContext(MessagingModule.forRoot({ nats, name, streams }), {
    logger: false,
    abortOnError: false,
  });
}

const STREAM = defineStream({ name: 'NATSCHART', subjects: ['natschart.>'] });

describe("the platform chart's NATS", () => {
  describe('values-local.yaml: one server', () => {
    let rendered: RenderedNats;
    let cluster: NatsCluster;

    beforeAll(async () => {
      rendered = await renderNats('values-local.yaml');
      cluster = await startRendered(rendered, 1);
    });

    afterAll(() => cluster?.down());

    it('has a password for every service and renders no cluster block', () => {
      expect(Object.keys(rendered.passwords).sort()).toEqual(['cleanup', 'gateway', 'provisioner', 'quota']);
      expect(new Set(Object.values(rendered.passwords)).size).toBe(4);
      expect(rendered.config).not.toMatch(/cluster \{/);
    });

    it.each(['gateway', 'quota', 'provisioner', 'cleanup'])('lets %s in with its own password', async (user) => {
      const app = await messagingApp({ servers: cluster.urls, user, password: rendered.passwords[user] }, user);
      try {
        const info = await (
          await app.get<NatsConnection>(NATS_CONNECTION).jetstreamManager()
        ).streams.info('NATSCHART');
        expect(info.config.num_replicas).toBe(1);
      } finally {
        await app.close();
      }
    });

    it('turns away a client without credentials, or with another service’s password, saying why', async () => {
      await expect(messagingApp({ servers: cluster.urls }, 'anonymous')).rejects.toThrow(
        /NATS refused a client without credentials/,
      );
      await expect(
        messagingApp({ servers: cluster.urls, user: 'gateway', password: rendered.passwords['quota'] }, 'gateway'),
      ).rejects.toThrow(/NATS refused user "gateway"/);
    });
  });

  describe('values-prod.yaml: three servers', () => {
    let rendered: RenderedNats;
    let cluster: NatsCluster;
    let app: INestApplicationContext;

    beforeAll(async () => {
      rendered = await renderNats('values-prod.yaml');
      cluster = await startRendered(rendered, 3);
    });

    afterAll(async () => {
      await app?.close();
      await cluster?.down();
    });

    it('gives the services three replicas of each stream and bucket, raising one made with a single copy', async () => {
      const settings = { servers: cluster.urls, user: 'gateway', password: rendered.passwords['gateway'] };
      // As a platform that ran one NATS server left it: the stream and a bucket with one copy each.
      const single = await messagingApp({ ...settings, replicas: 1 }, 'gateway');
      await single.get(KeyValueBuckets).open('natschart');
      await single.close();

      app = await messagingApp({ ...settings, replicas: 3 }, 'gateway');
      const jsm = await app.get<NatsConnection>(NATS_CONNECTION).jetstreamManager();
      await app.get(KeyValueBuckets).open('natschart');
      for (const stream of ['NATSCHART', 'KV_natschart', 'DEADLETTER']) {
        const info = await eventually(async () => {
          const current = await jsm.streams.info(stream);
          expect(current.cluster?.replicas?.filter((peer) => peer.current)).toHaveLength(2);
          return current;
        }, 30_000);
        expect(info.config.num_replicas).toBe(3);
      }
    });

    it('loses no accepted message or key when the stream leader stops', async () => {
      const publisher = app.get(JetStreamPublisher);
      const kv = await app.get(KeyValueBuckets).open('natschart');
      const jsm = await app.get<NatsConnection>(NATS_CONNECTION).jetstreamManager();
      const publish = (n: number) =>
        eventually(() => publisher.publish(`natschart.${n}`, `message ${n}`, { msgId: `natschart-${n}` }), 30_000, 250);
      for (let n = 0; n < 10; n++) await publish(n);
      await kv.put('before', 'kept');

      const leader = (await jsm.streams.info('NATSCHART')).cluster?.leader ?? '';
      const index = Number(/-(\d+)$/.exec(leader)?.[1]);
      expect(Number.isInteger(index)).toBe(true);
      await cluster.stopServer(index);

      for (let n = 10; n < 20; n++) await publish(n);
      await eventually(() => kv.put('after', 'written'), 30_000, 250);

      const info = await eventually(() => jsm.streams.info('NATSCHART'), 30_000, 250);
      expect(info.cluster?.leader).not.toBe(leader);
      expect(info.state.messages).toBe(20);
      expect((await kv.get('before'))?.string()).toBe('kept');
      expect((await kv.get('after'))?.string()).toBe('written');
    });
  });
});
