import { ConfigError } from '@urumi/runtime';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { KubeClients } from './client';
import { leaderElectionFromEnv, Leadership, NotLeadingError } from './leadership';

describe(leaderElectionFromEnv.name, () => {
  const noFile = '/nonexistent/namespace';

  it("is on by default with client-go's timings, in urumi-system outside a pod", () => {
    expect(leaderElectionFromEnv({ POD_NAME: 'provisioner-7d9f' }, 'urumi-provisioner', noFile)).toEqual({
      enabled: true,
      namespace: 'urumi-system',
      leaseName: 'urumi-provisioner',
      podName: 'provisioner-7d9f',
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
    });
  });

  it("takes the pod's own namespace from its ServiceAccount, and reads every setting", () => {
    const dir = mkdtempSync(join(tmpdir(), 'urumi-leadership-'));
    try {
      writeFileSync(join(dir, 'namespace'), 'shop-system\n');
      expect(leaderElectionFromEnv({}, 'urumi-cleanup', join(dir, 'namespace')).namespace).toBe('shop-system');
      expect(
        leaderElectionFromEnv(
          {
            LEADER_ELECTION: 'false',
            LEADER_ELECTION_NAMESPACE: 'platform',
            LEADER_ELECTION_LEASE_NAME: 'shop-cleanup',
            LEASE_DURATION_SECONDS: '3',
            RENEW_DEADLINE_SECONDS: '2',
            RETRY_PERIOD_SECONDS: '0.5',
          },
          'urumi-cleanup',
          join(dir, 'namespace'),
        ),
      ).toMatchObject({
        enabled: false,
        namespace: 'platform',
        leaseName: 'shop-cleanup',
        leaseDurationMs: 3_000,
        renewDeadlineMs: 2_000,
        retryPeriodMs: 500,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each([
    [{ LEADER_ELECTION: 'yes' }, 'LEADER_ELECTION must be true or false, not "yes"'],
    [{ LEADER_ELECTION_NAMESPACE: 'Urumi_System' }, /LEADER_ELECTION_NAMESPACE must be a DNS-1123 label/],
    [{ LEADER_ELECTION_LEASE_NAME: 'a'.repeat(64) }, /LEADER_ELECTION_LEASE_NAME must be a DNS-1123 label/],
    [{ RETRY_PERIOD_SECONDS: 'soon' }, 'RETRY_PERIOD_SECONDS must be a number from 0.1 to 3600, not "soon"'],
    [{ RENEW_DEADLINE_SECONDS: '15' }, /LEASE_DURATION_SECONDS must be greater than RENEW_DEADLINE_SECONDS/],
    [{ RETRY_PERIOD_SECONDS: '9' }, /RENEW_DEADLINE_SECONDS must be greater than 1.2 × RETRY_PERIOD_SECONDS/],
  ])('refuses %j, naming the variable', (env, message) => {
    expect(() => leaderElectionFromEnv(env, 'urumi-provisioner', noFile)).toThrow(ConfigError);
    expect(() => leaderElectionFromEnv(env, 'urumi-provisioner', noFile)).toThrow(message);
  });
});

describe(Leadership.name, () => {
  const kube = { coordination: {} } as KubeClients;
  const settings = { ...leaderElectionFromEnv({ POD_NAME: 'cleanup-0' }, 'urumi-cleanup'), enabled: false };

  it('with leader election off, runs its tasks from the start until shutdown, and says so in its gauge', async () => {
    const registry = new Registry();
    const sut = new Leadership(settings, kube, registry);
    const calls: string[] = [];
    let term: AbortSignal | undefined;
    sut.whileLeading('sweep', {
      start: (signal) => {
        term = signal;
        calls.push('start');
      },
      stop: () => void calls.push('stop'),
    });

    sut.onApplicationBootstrap();
    expect([calls, sut.isLeading]).toEqual([['start'], true]);
    expect(() => sut.assertLeading(term)).not.toThrow();
    expect(await registry.metrics()).toContain(
      `urumi_leader_election_is_leader{lease="urumi-cleanup",identity="${sut.identity}"} 1`,
    );

    await sut.beforeApplicationShutdown();

    // Once to drain while still leading, once as leadership ends.
    expect([calls, sut.isLeading, term?.aborted]).toEqual([['start', 'stop', 'stop'], false, true]);
    expect(() => sut.assertLeading(term)).toThrow(NotLeadingError);
    expect(await registry.metrics()).toContain(`identity="${sut.identity}"} 0`);
  });

  it('starts a task registered while it leads at once, and refuses work of no term', () => {
    const sut = new Leadership(settings, kube);
    sut.onApplicationBootstrap();
    const started: AbortSignal[] = [];

    sut.whileLeading('late', { start: (term) => void started.push(term), stop: () => undefined });

    expect(started).toHaveLength(1);
    expect(sut.identity).toMatch(/^cleanup-0_[0-9a-f]{8}$/);
    expect(() => sut.assertLeading(undefined)).toThrow(NotLeadingError);
  });
});
