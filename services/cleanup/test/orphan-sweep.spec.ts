import { Logger } from '@nestjs/common';
import { join } from 'node:path';
import { createStore, Helm, KubeClients, labels, Leadership, NotLeadingError, STORE, Store } from '@urumi/kube';
import { testSandbox } from '@urumi/sandbox';
import { cleanupConfigFromEnv } from '../src/config';
import { OrphanSweep, StoreCache } from '../src/orphan-sweep';

jest.setTimeout(120_000);

const GRACE_SECONDS = 60;

/** The sweep against the sandbox's API server, with the Store cache it is given standing in for a stale one. */
describe(OrphanSweep.name, () => {
  const sandbox = testSandbox();
  const kubectl = (...args: string[]) => sandbox.kubectl(args);
  let kube: KubeClients;
  let helm = '';

  /** A store namespace as the provisioner labels it. */
  const storeNamespace = async (name: string, storeId: string) => {
    await kubectl('create', 'namespace', `store-${name}`);
    await kubectl('label', 'namespace', `store-${name}`, `${labels.managedBy}=urumi`, `${labels.storeId}=${storeId}`);
  };
  const aStore = (name: string, storeId: string): Store => ({
    apiVersion: STORE.apiVersion,
    kind: STORE.kind,
    metadata: { name },
    spec: { storeId, engine: 'medusa', owner: 'paul', domain: `${name}.example.com` },
  });
  /** Present and not being deleted. */
  const standing = async (namespace: string) =>
    (
      await kubectl(
        'get',
        'namespace',
        namespace,
        '--ignore-not-found',
        '-o',
        'jsonpath={.metadata.name}:{.metadata.deletionTimestamp}',
      )
    ).trim() === `${namespace}:`;
  const sweeps: OrphanSweep[] = [];
  /** A sweep of the only replica (leader election off), started as the application starts it. */
  const sweepWith = (cache: StoreCache, leadership = onlyReplica()) => {
    const config = cleanupConfigFromEnv({ ORPHAN_GRACE_SECONDS: String(GRACE_SECONDS) });
    const sut = new OrphanSweep(
      config,
      kube,
      new Helm({ binary: helm, kubeconfig: sandbox.kubeconfig }),
      cache,
      leadership,
    );
    sut.onApplicationBootstrap();
    sweeps.push(sut);
    return sut;
  };
  const onlyReplica = () => {
    const leadership = new Leadership({ ...cleanupConfigFromEnv({}).leaderElection, enabled: false }, kube);
    leadership.onApplicationBootstrap();
    return leadership;
  };
  /** Synced, yet it has not seen the Stores made since it stalled. */
  const staleCache: StoreCache = { isSynced: true, get: () => undefined };
  const afterGrace = () => Date.now() + (GRACE_SECONDS + 5) * 1000;

  beforeAll(async () => {
    Logger.overrideLogger(false);
    kube = KubeClients.fromEnvironment({ KUBECONFIG: sandbox.kubeconfig });
    helm = await sandbox.binary('helm');
    await sandbox.kubectl(['apply', '--server-side', '-f', join(__dirname, '../../../charts/platform/crds')]);
    await sandbox.kubectl(['wait', '--for=condition=Established', 'crd/stores.urumi.dev', '--timeout=30s']);
  });

  afterEach(async () => {
    for (const sweep of sweeps.splice(0)) sweep.onApplicationShutdown();
    await kubectl('delete', 'stores.urumi.dev', '--all', '--wait=false');
    await kubectl('delete', 'namespace', '-l', `${labels.managedBy}=urumi`, '--wait=false');
  });

  it('does not sweep before its Store cache has synced', async () => {
    await storeNamespace('unsynced', 'unsynced-0001');
    const sut = sweepWith({ isSynced: false, get: () => undefined });

    expect(await sut.sweep(afterGrace())).toEqual({ swept: false, reason: 'cache-not-synced' });

    expect(await standing('store-unsynced')).toBe(true);
  });

  it('leaves a live store alone when its cache has not seen the Store: the owner is read from the API server', async () => {
    await createStore(kube, aStore('fresh', 'fresh-0000002'));
    await storeNamespace('fresh', 'fresh-0000002');
    const sut = sweepWith(staleCache);

    expect(await sut.sweep(afterGrace())).toEqual({ swept: true, orphans: [] });

    expect(await standing('store-fresh')).toBe(true);
  });

  it('deletes a namespace without a Store, or an earlier store of the name, only once older than the grace period', async () => {
    await storeNamespace('lonely', 'lonely-000003');
    await createStore(kube, aStore('renamed', 'renamed-new-4'));
    await storeNamespace('renamed', 'renamed-old-5');
    const sut = sweepWith(staleCache);

    expect(await sut.sweep(Date.now() + (GRACE_SECONDS - 10) * 1000)).toEqual({ swept: true, orphans: [] });
    expect([await standing('store-lonely'), await standing('store-renamed')]).toEqual([true, true]);

    const swept = await sut.sweep(afterGrace());

    expect(swept).toEqual({ swept: true, orphans: ['store-lonely', 'store-renamed'] });
    expect([await standing('store-lonely'), await standing('store-renamed')]).toEqual([false, false]);
  });

  it('deletes nothing once its replica no longer leads', async () => {
    await storeNamespace('unled', 'unled-0000006');
    const leadership = onlyReplica();
    const sut = sweepWith(staleCache, leadership);
    await leadership.beforeApplicationShutdown();

    await expect(sut.sweep(afterGrace())).rejects.toThrow(NotLeadingError);

    expect(await standing('store-unled')).toBe(true);
  });
});
