import { CoreV1Api, KubeConfig, V1ConfigMap } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { eventually, testSandbox } from '@urumi/sandbox';
import { ResilientInformer } from '../src';

jest.setTimeout(120_000);

const LABEL = 'urumi.dev/informer-test';

/**
 * The informer restarts its watch every `rewatchEveryMs` as a watchdog against watches that stall silently. Against
 * the sandbox's API server: a restart is no failure and misses no change.
 */
describe('ResilientInformer against the API server', () => {
  const config = new KubeConfig();
  let core: CoreV1Api;
  const namespace = `informer-${randomBytes(3).toString('hex')}`;

  beforeAll(async () => {
    config.loadFromFile(testSandbox().kubeconfig);
    core = config.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: namespace } } });
  });
  afterAll(async () => {
    await core.deleteNamespace({ name: namespace }).catch(() => undefined);
  });

  it('restarts its watch on schedule without a failure, and sees every change made meanwhile', async () => {
    const errors: unknown[] = [];
    const seen = new Map<string, string | undefined>();
    const informer = new ResilientInformer<V1ConfigMap>(config, {
      path: `/api/v1/namespaces/${namespace}/configmaps`,
      list: () => core.listNamespacedConfigMap({ namespace, labelSelector: `${LABEL}=yes` }),
      labelSelector: `${LABEL}=yes`,
      onChange: (object, deleted) => seen.set(object.metadata?.name ?? '', deleted ? undefined : object.data?.['n']),
      onError: (error) => errors.push(error),
      rewatchEveryMs: 500,
      restartDelayMs: 100,
    });
    await informer.start();
    try {
      for (let n = 0; n < 8; n++) {
        await core.createNamespacedConfigMap({
          namespace,
          body: { metadata: { name: `cm-${n}`, labels: { [LABEL]: 'yes' } }, data: { n: String(n) } },
        });
        await sleep(400);
      }
      await eventually(() => expect(seen.size).toBe(8), 30_000);
      expect([...seen].sort()).toEqual(Array.from({ length: 8 }, (_, n) => [`cm-${n}`, String(n)]));
      expect(errors.map(String)).toEqual([]);
      expect(informer.isSynced).toBe(true);
    } finally {
      await informer.stop();
    }
  });

  it('caches objects without their managedFields', async () => {
    const informer = new ResilientInformer<V1ConfigMap>(config, {
      path: `/api/v1/namespaces/${namespace}/configmaps`,
      list: () => core.listNamespacedConfigMap({ namespace, labelSelector: `${LABEL}=trimmed` }),
      labelSelector: `${LABEL}=trimmed`,
      onChange: () => undefined,
    });
    await core.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: 'listed', labels: { [LABEL]: 'trimmed' } }, data: { n: '1' } },
    });
    await informer.start();
    try {
      await core.createNamespacedConfigMap({
        namespace,
        body: { metadata: { name: 'watched', labels: { [LABEL]: 'trimmed' } }, data: { n: '2' } },
      });
      await eventually(() => expect(informer.get('watched', namespace)).toBeDefined());

      const server = await core.readNamespacedConfigMap({ name: 'watched', namespace });
      expect(server.metadata?.managedFields?.length).toBeGreaterThan(0);
      for (const name of ['listed', 'watched']) {
        expect(informer.get(name, namespace)?.metadata?.managedFields).toBeUndefined();
        expect(informer.get(name, namespace)?.data).toBeDefined();
      }
    } finally {
      await informer.stop();
    }
  });

  it('caches only the metadata of each object when metadataOnly, and sees it deleted', async () => {
    const deleted: string[] = [];
    const informer = new ResilientInformer(config, {
      path: `/api/v1/namespaces/${namespace}/configmaps`,
      list: (options) => core.listNamespacedConfigMap({ namespace, labelSelector: `${LABEL}=meta` }, options),
      labelSelector: `${LABEL}=meta`,
      metadataOnly: true,
      onChange: (object, gone) => gone && deleted.push(object.metadata?.name ?? ''),
    });
    await core.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: 'meta-listed', labels: { [LABEL]: 'meta' } }, data: { big: 'x'.repeat(10_000) } },
    });
    await informer.start();
    try {
      await core.createNamespacedConfigMap({
        namespace,
        body: { metadata: { name: 'meta-watched', labels: { [LABEL]: 'meta' } }, data: { big: 'y'.repeat(10_000) } },
      });
      await eventually(() => expect(informer.get('meta-watched', namespace)).toBeDefined());

      for (const name of ['meta-listed', 'meta-watched']) {
        const cached = informer.get(name, namespace) as V1ConfigMap | undefined;
        expect(cached?.metadata?.labels).toEqual({ [LABEL]: 'meta' });
        expect(cached?.data).toBeUndefined();
      }
      await core.deleteNamespacedConfigMap({ name: 'meta-listed', namespace });
      await eventually(() => expect(deleted).toEqual(['meta-listed']));
    } finally {
      await informer.stop();
    }
  });
});
