import { Controller, INestApplicationContext, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventPattern, MicroserviceOptions, Payload } from '@nestjs/microservices';
import type { V1ConfigMap, V1Secret, V1StatefulSet } from '@kubernetes/client-node';
import {
  defineStream,
  durableName,
  JetStreamPublisher,
  JetStreamServer,
  KeyValueBuckets,
  MessagingModule,
  NATS_CONNECTION,
  NatsSettings,
} from '@urumi/messaging';
import { buckets, streams, subjects } from '@urumi/contracts';
import type { StoreView } from '@urumi/contracts';
import { eventually, NatsCluster, NatsServerPorts, Platform, SeededUser, testSandbox } from '@urumi/sandbox';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { connect, NatsConnection } from 'nats';
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
async function messagingApp(nats: NatsSettings, name: string, streams = [STORES]): Promise<INestApplicationContext> {
  return NestFactory.createApplicationContext(MessagingModule.forRoot({ nats, name, streams }), {
    logger: false,
    abortOnError: false,
  });
}

// What the services use: the gateway's stream and one of its buckets.
const STORES = defineStream(streams.stores);
const BUCKET = buckets.idempotency;

describe("the platform chart's NATS", () => {
  describe('values-local.yaml: one server', () => {
    let rendered: RenderedNats;
    let cluster: NatsCluster;

    beforeAll(async () => {
      rendered = await renderNats('values-local.yaml');
      cluster = await startRendered(rendered, 1);
    });

    afterAll(() => cluster?.down());

    it('has a password for every service and for admin, and renders no cluster block', () => {
      expect(Object.keys(rendered.passwords).sort()).toEqual(['admin', 'cleanup', 'gateway', 'provisioner', 'quota']);
      expect(new Set(Object.values(rendered.passwords)).size).toBe(5);
      expect(rendered.config).not.toMatch(/cluster \{/);
    });

    it.each(['gateway', 'quota', 'provisioner', 'cleanup'])('lets %s in with its own password', async (user) => {
      // Each with no stream of its own: every service creates the dead-letter stream.
      const app = await messagingApp({ servers: cluster.urls, user, password: rendered.passwords[user] }, user, []);
      try {
        const info = await (
          await app.get<NatsConnection>(NATS_CONNECTION).jetstreamManager()
        ).streams.info('DEADLETTER');
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
      await single.get(KeyValueBuckets).open(BUCKET);
      await single.close();

      app = await messagingApp({ ...settings, replicas: 3 }, 'gateway');
      const jsm = await app.get<NatsConnection>(NATS_CONNECTION).jetstreamManager();
      await app.get(KeyValueBuckets).open(BUCKET);
      for (const stream of [STORES.name, `KV_${BUCKET}`, 'DEADLETTER']) {
        const info = await eventually(async () => {
          const current = await jsm.streams.info(stream);
          expect(current.cluster?.replicas?.filter((peer) => peer.current)).toHaveLength(2);
          return current;
        }, 30_000);
        expect(info.config.num_replicas).toBe(3);
      }
    });

    it('delivers to a consumer signed in as another service, on a durable consumer kept on all three', async () => {
      const received: unknown[] = [];
      @Controller()
      class OrdersHandler {
        @EventPattern(subjects.deleteStore)
        on(@Payload() payload: unknown): void {
          received.push(payload);
        }
      }
      @Module({ controllers: [OrdersHandler] })
      class ConsumerModule {}
      const quota = { servers: cluster.urls, user: 'quota', password: rendered.passwords['quota'], replicas: 3 };
      const consumer = await NestFactory.createMicroservice<MicroserviceOptions>(ConsumerModule, {
        strategy: new JetStreamServer({ nats: quota, durablePrefix: 'natschart', stream: STORES.name }),
        logger: false,
      });
      await consumer.listen();
      try {
        await app
          .get(JetStreamPublisher)
          .publish(subjects.deleteStore, JSON.stringify({ order: 1 }), { msgId: 'order-1' });
        await eventually(() => expect(received).toEqual([{ order: 1 }]), 30_000);
        const jsm = await app.get<NatsConnection>(NATS_CONNECTION).jetstreamManager();
        const info = await jsm.consumers.info(STORES.name, durableName('natschart', subjects.deleteStore));
        expect(info.cluster?.replicas?.filter((peer) => peer.current)).toHaveLength(2);
      } finally {
        await consumer.close();
      }
    });

    it('loses no accepted message or key when the stream leader stops', async () => {
      const publisher = app.get(JetStreamPublisher);
      const kv = await app.get(KeyValueBuckets).open(BUCKET);
      const jsm = await app.get<NatsConnection>(NATS_CONNECTION).jetstreamManager();
      const publish = (n: number) =>
        eventually(
          () => publisher.publish(subjects.createStore, `message ${n}`, { msgId: `natschart-${n}` }),
          30_000,
          250,
        );
      for (let n = 0; n < 10; n++) await publish(n);
      await kv.put('before', 'kept');
      const before = (await jsm.streams.info(STORES.name)).state.messages;

      const leader = (await jsm.streams.info(STORES.name)).cluster?.leader ?? '';
      const index = Number(/-(\d+)$/.exec(leader)?.[1]);
      expect(Number.isInteger(index)).toBe(true);
      await cluster.stopServer(index);

      for (let n = 10; n < 20; n++) await publish(n);
      await eventually(() => kv.put('after', 'written'), 30_000, 250);

      const info = await eventually(() => jsm.streams.info(STORES.name), 30_000, 250);
      expect(info.cluster?.leader).not.toBe(leader);
      expect(info.state.messages - before).toBe(10);
      expect((await kv.get('before'))?.string()).toBe('kept');
      expect((await kv.get('after'))?.string()).toBe('written');
    });
  });

  describe('values-local.yaml: the four services, each under its own NATS permissions', () => {
    const tenant: SeededUser = { name: 'nora', role: 'tenant', token: randomBytes(24).toString('hex') };
    // Allowed no store at all, so quota's rejection travels too.
    const refusedTenant: SeededUser = { name: 'otto', role: 'tenant', token: randomBytes(24).toString('hex') };
    const logs: string[] = [];
    let rendered: RenderedNats;
    let cluster: NatsCluster;
    let platform: Platform;
    let gatewayUrl: string;

    const signIn = (user: string) => ({ servers: cluster.urls, user, pass: rendered.passwords[user] });
    const api = async (method: string, path: string, body?: unknown, user = tenant) => {
      const res = await fetch(`${gatewayUrl}${path}`, {
        method,
        headers: {
          Authorization: `Bearer ${user.token}`,
          'Content-Type': 'application/json',
          'Idempotency-Key': randomBytes(8).toString('hex'),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: (text ? JSON.parse(text) : undefined) as StoreView };
    };

    beforeAll(async () => {
      rendered = await renderNats('values-local.yaml');
      cluster = await startRendered(rendered, 1);
      const natsEnv = (user: string) => ({
        NATS_URL: cluster.urls.join(','),
        NATS_USER: user,
        NATS_PASSWORD: rendered.passwords[user]!,
      });
      platform = new Platform(testSandbox(), {
        users: [tenant, refusedTenant],
        env: {
          LOG_LEVEL: 'info',
          RESYNC_SECONDS: '5',
          QUOTA_OWNER_OVERRIDES: JSON.stringify({ [refusedTenant.name]: { maxActiveStores: 0 } }),
        },
        serviceEnv: {
          gateway: natsEnv('gateway'),
          quota: natsEnv('quota'),
          provisioner: natsEnv('provisioner'),
          cleanup: natsEnv('cleanup'),
        },
        output: (line) => logs.push(line),
      });
      ({ gatewayUrl } = await platform.start());
    });

    afterAll(async () => {
      await platform?.stop();
      // The services' and the server's own account of the run, for whoever investigates a failure.
      const logDir = join(resolve(__dirname, '../..'), '.sandbox', 'logs');
      await mkdir(logDir, { recursive: true });
      await writeFile(join(logDir, 'platform-nats-services.log'), logs.join('\n'));
      if (cluster) await writeFile(join(logDir, 'platform-nats-server.log'), await cluster.log(0));
      await cluster?.down();
    });

    it('takes a store from request to Ready and back to nothing, with no permission refused', async () => {
      const name = `nats-${randomBytes(3).toString('hex')}`;
      const created = await api('POST', '/api/v1/stores', { name, engine: 'woocommerce' });
      expect(created.status).toBe(202);
      const path = `/api/v1/stores/${created.body.id}`;
      await eventually(async () => expect((await api('GET', path)).body.step).toBe('ready'), 90_000, 250);

      expect((await api('DELETE', path)).status).toBe(202);
      await eventually(async () => expect((await api('GET', path)).status).toBe(404), 90_000, 250);

      const refused = await api('POST', '/api/v1/stores', { name: `${name}-x`, engine: 'medusa' }, refusedTenant);
      const refusedPath = `/api/v1/stores/${refused.body.id}`;
      await eventually(
        async () => expect((await api('GET', refusedPath, undefined, refusedTenant)).body.step).toBe('rejected'),
        30_000,
        250,
      );
      // A command quota cannot read: dead-lettered (by quota, into the stream it may feed), not lost.
      const gateway = await connect(signIn('gateway'));
      try {
        await gateway.jetstream().publish(subjects.createStore, 'not a command', { msgID: `poison-${name}` });
        const jsm = await gateway.jetstreamManager();
        await eventually(
          async () => expect((await jsm.streams.info('DEADLETTER')).state.messages).toBeGreaterThan(0),
          30_000,
          250,
        );
      } finally {
        await gateway.close();
      }

      expect(logs.filter((line) => /violation/i.test(line))).toEqual([]);
      expect((await cluster.log(0)).split('\n').filter((line) => /violation/i.test(line))).toEqual([]);
    }, 240_000);

    it('refuses what a service has no business doing', async () => {
      const refused = async (user: string, act: (connection: NatsConnection) => Promise<unknown>) => {
        const connection = await connect(signIn(user));
        try {
          await expect(act(connection)).rejects.toThrow();
        } finally {
          await connection.close();
        }
      };
      const publish = (subject: string) => (connection: NatsConnection) =>
        connection.jetstream().publish(subject, 'forged', { timeout: 2_000 });

      // Only quota decides; only the gateway issues commands; no service deletes or purges a stream.
      await refused('gateway', publish('store.status.approved'));
      await refused('cleanup', publish('store.status.approved'));
      await refused('provisioner', publish('store.status.approved'));
      await refused('provisioner', publish('store.status.rejected'));
      await refused('quota', publish('store.cmd.create'));
      await refused('cleanup', publish('store.cmd.delete'));
      await refused('gateway', async (connection) => (await connection.jetstreamManager()).streams.delete('STORES'));
      await refused('gateway', async (connection) => (await connection.jetstreamManager()).streams.purge('AUDIT'));
      await refused('provisioner', async (connection) => {
        const kv = await connection.jetstream().views.kv('quota', { bindOnly: true });
        return kv.put('ledger', 'forged');
      });

      const admin = await connect(signIn('admin'));
      try {
        expect((await (await admin.jetstreamManager()).streams.info('STORES')).config.name).toBe('STORES');
      } finally {
        await admin.close();
      }
      const log = await cluster.log(0);
      expect(log).toMatch(/Violation.*"store\.status\.approved"/i);
      expect(log).toMatch(/Violation.*"\$JS\.API\.STREAM\.DELETE\.STORES"/i);
    });
  });
});
