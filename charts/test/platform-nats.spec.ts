import { Controller, INestApplicationContext, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventPattern, MicroserviceOptions, Payload } from '@nestjs/microservices';
import {
  DeadLetterHeader,
  deadLetterSubject,
  defineStream,
  durableName,
  JetStreamPublisher,
  JetStreamServer,
  KeyValueBuckets,
  MessagingModule,
  NATS_CONNECTION,
  NatsSettings,
} from '@urumi/messaging';
import { buckets, Step, streams, subjects } from '@urumi/contracts';
import type { StoreView } from '@urumi/contracts';
import {
  eventually,
  NatsCluster,
  Platform,
  PlatformNats,
  RenderedNats,
  renderChartNats,
  SeededUser,
  startChartNats,
  testSandbox,
} from '@urumi/sandbox';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { AckPolicy, connect, NatsConnection } from 'nats';

// The platform chart's NATS as nats-server runs it: the rendered nats.conf and the StatefulSet's environment
// (passwords from the generated Secret), on loopback ports instead of pod addresses, with the services' own
// messaging code connecting as the services do.
jest.setTimeout(120_000);

/** A Nest application with the messaging module, as a service builds it. */
async function messagingApp(nats: NatsSettings, name: string, streams = [STORES]): Promise<INestApplicationContext> {
  return NestFactory.createApplicationContext(MessagingModule.forRoot({ nats, name, streams }), {
    logger: false,
    abortOnError: false,
  });
}

/**
 * The error NATS answers a request on a subject the user may not publish to (nats.js rejects with it); `{name}`
 * stands for a consumer name the client generates.
 */
const violation = (subject: string) => {
  const pattern = subject.replace(/[.*+?^${}()|[\]\\$]/g, '\\$&').replace(/\\\{name\\\}/g, '[A-Za-z0-9_]+');
  return new RegExp(`^'Permissions Violation for Publish to "${pattern}"'$`);
};

const violationsIn = (lines: readonly string[]) => lines.filter((line) => /violation/i.test(line));

// What the services use: the gateway's stream and one of its buckets.
const STORES = defineStream(streams.stores);
const BUCKET = buckets.idempotency;

describe("the platform chart's NATS", () => {
  describe('values-local.yaml: one server', () => {
    let rendered: RenderedNats;
    let cluster: NatsCluster;
    const settings = (user: string) => ({ servers: cluster.urls, user, password: rendered.passwords[user] });

    beforeAll(async () => {
      rendered = await renderChartNats(testSandbox(), 'values-local.yaml');
      cluster = await startChartNats(rendered, 1);
    });

    afterAll(() => cluster?.down());

    it('has a password for every service and for admin, and renders no cluster block', () => {
      expect(Object.keys(rendered.passwords).sort()).toEqual([
        'admin',
        'cleanup',
        'gateway',
        'provisioner',
        'quota',
        'subscriber',
      ]);
      expect(new Set(Object.values(rendered.passwords)).size).toBe(6);
      expect(rendered.config).not.toMatch(/cluster \{/);
    });

    it('lets each service in with its own password; the gateway defines the dead-letter stream, the others bind it', async () => {
      for (const user of ['gateway', 'quota', 'provisioner', 'cleanup']) {
        const app = await messagingApp(settings(user), user, []);
        try {
          const jsm = await app.get<NatsConnection>(NATS_CONNECTION).jetstreamManager();
          expect((await jsm.streams.info('DEADLETTER')).config.num_replicas).toBe(1);
        } finally {
          await app.close();
        }
      }
      expect(violationsIn((await cluster.log(0)).split('\n'))).toEqual([]);
    });

    it('has a service wait for a stream or bucket another service defines, until its owner has created it', async () => {
      const refusedCreate = (user: string, stream: string) =>
        new RegExp(`user:${user}" - Publish Violation - Subject "\\$JS\\.API\\.STREAM\\.CREATE\\.${stream}"`);
      // Quota binds STORES (the gateway's) and cleanup store-lifecycle (the provisioner's): both start first here.
      const quota = messagingApp(settings('quota'), 'quota', [STORES]);
      const cleanup = await messagingApp(settings('cleanup'), 'cleanup', []);
      const lifecycle = cleanup.get(KeyValueBuckets).open(buckets.storeLifecycle);
      const apps: Promise<INestApplicationContext>[] = [quota, Promise.resolve(cleanup)];
      try {
        await eventually(async () => {
          const log = await cluster.log(0);
          expect(log).toMatch(refusedCreate('quota', 'STORES'));
          expect(log).toMatch(refusedCreate('cleanup', 'KV_store-lifecycle'));
        }, 10_000);

        apps.push(messagingApp(settings('gateway'), 'gateway', [STORES]));
        const provisioner = await messagingApp(settings('provisioner'), 'provisioner', []);
        apps.push(Promise.resolve(provisioner));
        const owned = await provisioner.get(KeyValueBuckets).open(buckets.storeLifecycle);
        await owned.put('store-1', 'provisioning');

        expect((await (await lifecycle).get('store-1'))?.string()).toBe('provisioning');
        const jsm = await (await quota).get<NatsConnection>(NATS_CONNECTION).jetstreamManager();
        expect((await jsm.streams.info(STORES.name)).config.subjects).toEqual(STORES.subjects);
      } finally {
        await Promise.all(apps.map(async (app) => (await app).close()));
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
      rendered = await renderChartNats(testSandbox(), 'values-prod.yaml');
      cluster = await startChartNats(rendered, 3);
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
      class DeleteHandler {
        @EventPattern(subjects.deleteStore)
        on(@Payload() payload: unknown): void {
          received.push(payload);
        }
      }
      @Module({ controllers: [DeleteHandler] })
      class ConsumerModule {}
      // Cleanup's own durable consumer: the only one of STORES its user may create and pull from.
      const cleanup = { servers: cluster.urls, user: 'cleanup', password: rendered.passwords['cleanup'], replicas: 3 };
      const consumer = await NestFactory.createMicroservice<MicroserviceOptions>(ConsumerModule, {
        strategy: new JetStreamServer({ nats: cleanup, durablePrefix: 'cleanup', stream: STORES.name }),
        logger: false,
      });
      await consumer.listen();
      try {
        await app
          .get(JetStreamPublisher)
          .publish(subjects.deleteStore, JSON.stringify({ order: 1 }), { msgId: 'order-1' });
        await eventually(() => expect(received).toEqual([{ order: 1 }]), 30_000);
        const jsm = await app.get<NatsConnection>(NATS_CONNECTION).jetstreamManager();
        const info = await jsm.streams.info(STORES.name);
        expect(info.state.consumer_count).toBe(1);
        const admin = await connect({ servers: cluster.urls, user: 'admin', pass: rendered.passwords['admin'] });
        try {
          const durable = await (
            await admin.jetstreamManager()
          ).consumers.info(STORES.name, durableName('cleanup', subjects.deleteStore));
          expect(durable.cluster?.replicas?.filter((peer) => peer.current)).toHaveLength(2);
        } finally {
          await admin.close();
        }
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

  // The platform as every end-to-end test runs it: Platform starts its own nats-server from the rendered chart.
  describe('values-local.yaml: the four services, each under its own NATS permissions', () => {
    const tenant: SeededUser = { name: 'nora', role: 'tenant', token: randomBytes(24).toString('hex') };
    // Allowed no store at all, so quota's rejection travels too.
    const refusedTenant: SeededUser = { name: 'otto', role: 'tenant', token: randomBytes(24).toString('hex') };
    const admin: SeededUser = { name: 'ada', role: 'admin', token: randomBytes(24).toString('hex') };
    const logs: string[] = [];
    let platform: Platform;
    let nats: PlatformNats;
    let gatewayUrl: string;

    const signIn = (user: string) => connect({ servers: nats.url, user, pass: nats.passwords[user] });
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
    /** Runs `act` signed in as `user`. */
    const as = async <T>(user: string, act: (connection: NatsConnection) => Promise<T>): Promise<T> => {
      const connection = await signIn(user);
      try {
        return await act(connection);
      } finally {
        await connection.close();
      }
    };
    /** `act`, signed in as `user`, is refused with NATS's permission violation for `subject` (not a timeout). */
    const refused = (user: string, subject: string, act: (connection: NatsConnection) => Promise<unknown>) =>
      as(user, (connection) => expect(act(connection)).rejects.toThrow(violation(subject)));
    const jsm = (connection: NatsConnection) => connection.jetstreamManager();
    // Bound without a lookup (which would be refused first), reading as the services do: by direct get.
    const bucket = (connection: NatsConnection, name: string) =>
      connection.jetstream().views.kv(name, { bindOnly: true, allow_direct: true });

    beforeAll(async () => {
      platform = new Platform(testSandbox(), {
        users: [tenant, refusedTenant, admin],
        env: {
          LOG_LEVEL: 'info',
          RESYNC_SECONDS: '5',
          QUOTA_OWNER_OVERRIDES: JSON.stringify({ [refusedTenant.name]: { maxActiveStores: 0 } }),
        },
        output: (line) => logs.push(line),
      });
      ({ gatewayUrl, nats } = await platform.start());
    });

    afterAll(async () => {
      // The services' and the server's own account of the run, for whoever investigates a failure.
      const logDir = join(resolve(__dirname, '../..'), '.sandbox', 'logs');
      await mkdir(logDir, { recursive: true });
      await writeFile(join(logDir, 'platform-nats-services.log'), logs.join('\n'));
      if (platform) await writeFile(join(logDir, 'platform-nats-server.log'), await platform.natsLog());
      await platform?.stop();
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
      // A command nobody can read: dead-lettered once (by quota or by the gateway's projector, which reads all of
      // store.>), into the stream each may feed, and not lost.
      await as('gateway', async (gateway) => {
        await gateway.jetstream().publish(subjects.createStore, 'not a command', { msgID: `poison-${name}` });
      });
      await as('admin', async (admin) => {
        const deadLetters = async () => {
          const reader = await admin
            .jetstream()
            .consumers.get('DEADLETTER', { filterSubjects: deadLetterSubject(subjects.createStore) });
          const found = [];
          for await (const message of await reader.fetch({ max_messages: 100, expires: 1_000 })) {
            if (message.headers?.get(DeadLetterHeader.msgId) === `poison-${name}`) found.push(message);
            if (message.info.pending === 0) break;
          }
          return found;
        };
        const dead = await eventually(
          async () => {
            const found = await deadLetters();
            // Once, whichever consumer gave up first: a dead letter's id is the stream and sequence it came from.
            expect(found).toHaveLength(1);
            expect([durableName('quota', subjects.createStore), durableName('gateway', 'store.>')]).toContain(
              found[0]!.headers!.get(DeadLetterHeader.consumer),
            );
            return found;
          },
          30_000,
          250,
        );
        for (const message of dead) {
          expect(message.string()).toBe('not a command');
          expect(message.headers!.get(DeadLetterHeader.reason)).toBe('poison message: the payload is not UTF-8 JSON');
        }
      });
      // The audit trail pages under the gateway's grants: the newest entry is the refused tenant's create.
      const audit = await fetch(`${gatewayUrl}/api/v1/audit?limit=1`, {
        headers: { Authorization: `Bearer ${admin.token}` },
      });
      expect(audit.status).toBe(200);
      const page = (await audit.json()) as { items: { user: string; action: string }[]; next?: number };
      expect(page.items).toEqual([expect.objectContaining({ user: refusedTenant.name })]);
      expect(page.next).toBeGreaterThan(1);
      expect(violationsIn(logs)).toEqual([]);
      expect(violationsIn((await platform.natsLog()).split('\n'))).toEqual([]);
    }, 240_000);

    it('refuses each service every other service’s consumers, streams and buckets', async () => {
      const approvals = durableName('provisioner', subjects.status(Step.APPROVED));
      // The internet-facing gateway may not repoint, read or drain the provisioner's approval consumer…
      await refused('gateway', `$JS.API.CONSUMER.CREATE.STORES.${approvals}.store.>`, async (c) =>
        (await jsm(c)).consumers.add('STORES', {
          durable_name: approvals,
          filter_subject: 'store.>',
          ack_policy: AckPolicy.Explicit,
        }),
      );
      await refused('gateway', `$JS.API.CONSUMER.INFO.STORES.${approvals}`, async (c) =>
        (await jsm(c)).consumers.info('STORES', approvals),
      );
      await refused('gateway', `$JS.API.CONSUMER.MSG.NEXT.STORES.${approvals}`, async (c) =>
        c.request(`$JS.API.CONSUMER.MSG.NEXT.STORES.${approvals}`, '{"batch":1,"no_wait":true}'),
      );
      // …nor make a consumer of its own that reads everything, nor delete one.
      await refused('gateway', '$JS.API.CONSUMER.CREATE.STORES', async (c) =>
        (await jsm(c)).consumers.add('STORES', { ack_policy: AckPolicy.None }),
      );
      await refused('gateway', `$JS.API.CONSUMER.DELETE.STORES.${approvals}`, async (c) =>
        (await jsm(c)).consumers.delete('STORES', approvals),
      );
      // Nobody takes another service's durable name.
      await refused('cleanup', '$JS.API.CONSUMER.CREATE.STORES.quota-store-cmd-create.store.cmd.create', async (c) =>
        (await jsm(c)).consumers.add('STORES', {
          durable_name: 'quota-store-cmd-create',
          filter_subject: subjects.createStore,
          ack_policy: AckPolicy.Explicit,
        }),
      );

      // No bucket outside a service's own: no get (direct or not), no watch, no write.
      await refused('gateway', '$JS.API.DIRECT.GET.KV_quota.$KV.quota.platform', async (c) =>
        (await bucket(c, buckets.quota)).get('platform'),
      );
      await refused('gateway', '$JS.API.STREAM.MSG.GET.KV_quota', async (c) =>
        (await jsm(c)).streams.getMessage('KV_quota', { last_by_subj: '$KV.quota.platform' }),
      );
      await refused('gateway', '$JS.API.CONSUMER.CREATE.KV_quota.{name}.$KV.quota.>', async (c) =>
        (await bucket(c, buckets.quota)).watch(),
      );
      await refused('gateway', '$JS.API.DIRECT.GET.KV_store-lifecycle.$KV.store-lifecycle.any', async (c) =>
        (await bucket(c, buckets.storeLifecycle)).get('any'),
      );
      await refused('quota', '$JS.API.DIRECT.GET.KV_idempotency.$KV.idempotency.any', async (c) =>
        (await bucket(c, buckets.idempotency)).get('any'),
      );
      await refused('provisioner', '$KV.quota.platform', async (c) =>
        c.jetstream().publish('$KV.quota.platform', 'forged', { timeout: 2_000 }),
      );
      await refused('cleanup', '$JS.API.CONSUMER.CREATE.KV_stores.{name}.$KV.stores.>', async (c) =>
        (await bucket(c, buckets.stores)).watch(),
      );

      // Nobody but the gateway reads the audit trail; one service defines each stream and bucket.
      await refused('provisioner', '$JS.API.STREAM.MSG.GET.AUDIT', async (c) =>
        (await jsm(c)).streams.getMessage('AUDIT', { seq: 1 }),
      );
      await refused('quota', '$JS.API.CONSUMER.CREATE.AUDIT.peek', async (c) =>
        (await jsm(c)).consumers.add('AUDIT', { name: 'peek', ack_policy: AckPolicy.None }),
      );
      for (const user of ['quota', 'provisioner', 'cleanup']) {
        await refused(user, '$JS.API.STREAM.UPDATE.STORES', async (c) => {
          const manager = await jsm(c);
          return manager.streams.update('STORES', { ...(await manager.streams.info('STORES')).config, max_age: 1 });
        });
      }
      await refused('quota', '$JS.API.STREAM.CREATE.DEADLETTER', async (c) =>
        (await jsm(c)).streams.add({ name: 'DEADLETTER', subjects: ['deadletter.>'] }),
      );
      await refused('cleanup', '$JS.API.STREAM.UPDATE.KV_store-lifecycle', async (c) => {
        const manager = await jsm(c);
        const { config } = await manager.streams.info('KV_store-lifecycle');
        return manager.streams.update('KV_store-lifecycle', { ...config, max_age: 1 });
      });
      await refused('gateway', '$JS.API.STREAM.DELETE.STORES', async (c) => (await jsm(c)).streams.delete('STORES'));
      await refused('gateway', '$JS.API.STREAM.PURGE.AUDIT', async (c) => (await jsm(c)).streams.purge('AUDIT'));

      // Only quota decides; only the gateway issues commands.
      const forge = (subject: string) => (c: NatsConnection) =>
        c.jetstream().publish(subject, 'forged', { timeout: 2_000 });
      await refused('gateway', 'store.status.approved', forge('store.status.approved'));
      await refused('cleanup', 'store.status.approved', forge('store.status.approved'));
      await refused('provisioner', 'store.status.approved', forge('store.status.approved'));
      await refused('provisioner', 'store.status.rejected', forge('store.status.rejected'));
      await refused('quota', 'store.cmd.create', forge('store.cmd.create'));
      await refused('cleanup', 'store.cmd.delete', forge('store.cmd.delete'));
    });

    it('lets each service do its own: its consumers, its buckets, the streams it binds', async () => {
      const logBefore = (await platform.natsLog()).length;
      const ownConsumers: Record<string, string[]> = {
        gateway: [durableName('gateway', 'store.>')],
        quota: [durableName('quota', subjects.createStore), durableName('quota', subjects.status(Step.DELETED))],
        provisioner: [durableName('provisioner', subjects.status(Step.APPROVED))],
        cleanup: [durableName('cleanup', subjects.deleteStore)],
      };
      for (const [user, durables] of Object.entries(ownConsumers)) {
        const names = await as(user, async (c) => {
          const manager = await jsm(c);
          expect((await manager.streams.info('STORES')).config.name).toBe('STORES');
          return Promise.all(durables.map(async (durable) => (await manager.consumers.info('STORES', durable)).name));
        });
        expect(names).toEqual(durables);
      }
      const ownBuckets: Record<string, string[]> = {
        gateway: [buckets.stores, buckets.storeNames, buckets.idempotency, buckets.rateLimits],
        quota: [buckets.quota],
        provisioner: [buckets.storeLifecycle],
        cleanup: [buckets.storeLifecycle],
      };
      for (const [user, names] of Object.entries(ownBuckets)) {
        await as(user, async (c) => {
          for (const name of names) {
            const kv = await c.jetstream().views.kv(name);
            await kv.put(`grant-check-${user}`, user);
            expect((await kv.get(`grant-check-${user}`))?.string()).toBe(user);
            const watch = await kv.watch({ key: `grant-check-${user}` });
            for await (const entry of watch) {
              expect(entry.string()).toBe(user);
              break;
            }
            await kv.delete(`grant-check-${user}`);
          }
        });
      }
      expect(violationsIn((await platform.natsLog()).slice(logBefore).split('\n'))).toEqual([]);
    });

    it('lets admin look at every stream', async () => {
      await as(nats.user, async (admin) => {
        const manager = await jsm(admin);
        expect((await manager.streams.info('STORES')).config.name).toBe('STORES');
        expect((await manager.streams.info('AUDIT')).state.messages).toBeGreaterThan(0);
      });
    });
  });
});
