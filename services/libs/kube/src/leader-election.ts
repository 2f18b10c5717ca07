import { V1MicroTime } from '@kubernetes/client-node';
import type { V1Lease, V1LeaseSpec } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeClients } from './client';
import { isConflict, isNotFound } from './errors';

/** As client-go's: a candidate waits 1 to 2.2 retry periods between tries, and renewDeadline must exceed 1.2 of them. */
export const JITTER_FACTOR = 1.2;

/** The one Lease an election is about. */
export interface LeaseApi {
  readonly namespace: string;
  readonly name: string;
  /** The Lease, or undefined when there is none yet. */
  read(): Promise<V1Lease | undefined>;
  /** Creates it; a 409 means another candidate created it first. */
  create(lease: V1Lease): Promise<V1Lease>;
  /** Replaces it, conditional on its metadata.resourceVersion: a 409 means someone wrote it since. */
  replace(lease: V1Lease): Promise<V1Lease>;
}

/** A coordination.k8s.io/v1 Lease through the API server. */
export function kubeLeaseApi(kube: KubeClients, namespace: string, name: string): LeaseApi {
  const api = kube.coordination;
  return {
    namespace,
    name,
    read: async () => {
      try {
        return await api.readNamespacedLease({ namespace, name });
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
    },
    create: (body) => api.createNamespacedLease({ namespace, body }),
    replace: (body) => api.replaceNamespacedLease({ namespace, name, body }),
  };
}

/** Time for the election's decisions: monotonic, so a wall-clock step changes nothing and a stopped process sees the time it lost. */
export interface Clock {
  /** Milliseconds on a monotonic scale. */
  now(): number;
  /** Resolves after `ms`, or at once when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const monotonicClock: Clock = {
  now: () => performance.now(),
  sleep: (ms, signal) => sleep(Math.max(0, ms), undefined, { signal }).catch(() => undefined),
};

export interface LeaderElectorOptions {
  readonly lease: LeaseApi;
  /** Unique per process (leaderIdentity): a restarted pod with the same name must not pass for its old self. */
  readonly identity: string;
  /** How long the others wait, after they last saw the Lease change, before they take it over. */
  readonly leaseDurationMs: number;
  /** How long the leader keeps trying to renew before it stops leading; shorter than the lease duration. */
  readonly renewDeadlineMs: number;
  /** How long to wait between tries. */
  readonly retryPeriodMs: number;
  readonly clock?: Clock;
  /** For the candidates' jitter (tests pass a fixed one). */
  readonly random?: () => number;
}

export interface LeaderCallbacks {
  /** Leadership began; `term` aborts the moment it ends (pass it to whatever must stop then, e.g. child processes). */
  onStartedLeading(term: AbortSignal): void;
  /**
   * Leadership ended (`term` already aborted). Called synchronously at the renew deadline, before the lease can expire
   * for the others; on stop(), the lease is released only once what this returns has settled.
   */
  onStoppedLeading(reason: string): void | Promise<void>;
  /** The holder the Lease names changed ('' when it was released). */
  onNewLeader?(identity: string): void;
  /** This process released the Lease (on stop()). */
  onReleased?(): void;
  /** A try that failed (it is retried). */
  onError?(error: unknown): void;
}

/** A pod's identity in the election: its name and a random suffix, as client-go's callers make it. */
export function leaderIdentity(podName: string): string {
  return `${podName}_${randomBytes(4).toString('hex')}`;
}

/**
 * Leader election on a Lease, the protocol of client-go's leaderelection package: a candidate takes the Lease when it
 * is free (no holder), missing, or has not changed for its leaseDurationSeconds as this process measured it (it trusts
 * its own clock for when it last saw the Lease change, never the timestamps written in it); every write is conditional
 * on the resourceVersion it read, so of two candidates one wins and the other gets a 409. The leader renews every
 * retry period; one that has not renewed within the renew deadline stops leading — before the Lease can expire for the
 * others, who wait the longer lease duration from a later moment (when they saw the last renewal). `isLeading` turns
 * false at that deadline even before the callbacks ran (a process resumed after SIGSTOP acts on no stale belief).
 * stop() ends leadership and then releases the Lease (no holder, 1 s), so another takes over at once.
 */
export class LeaderElector {
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly stopping = new AbortController();
  /** The Lease as last read or written, and when (this clock) it was last seen to change. */
  private observed?: V1Lease;
  private observedAt = 0;
  private reportedHolder?: string;
  /** When the last successful write of ours was sent: the leader acts until renewedAt + renewDeadline, never later. */
  private renewedAt = -Infinity;
  private term?: AbortController;
  private stopped: Promise<void> = Promise.resolve();
  private watchdog?: AbortController;
  /** Bumped when a try is given up on (timed out): what it finds later is ignored. */
  private generation = 0;
  private loop?: Promise<void>;

  constructor(
    private readonly options: LeaderElectorOptions,
    private readonly callbacks: LeaderCallbacks,
  ) {
    const { leaseDurationMs, renewDeadlineMs, retryPeriodMs } = options;
    if (!(retryPeriodMs > 0)) throw new Error('the retry period must be greater than zero');
    if (!(leaseDurationMs > renewDeadlineMs))
      throw new Error('the lease duration must be greater than the renew deadline');
    if (!(renewDeadlineMs > JITTER_FACTOR * retryPeriodMs)) {
      throw new Error(`the renew deadline must be greater than ${JITTER_FACTOR} × the retry period`);
    }
    this.clock = options.clock ?? monotonicClock;
    this.random = options.random ?? Math.random;
  }

  get identity(): string {
    return this.options.identity;
  }

  /** Whether this process may act as the leader now: it leads, and its last renewal is younger than the renew deadline. */
  get isLeading(): boolean {
    return this.term !== undefined && this.clock.now() < this.renewedAt + this.options.renewDeadlineMs;
  }

  /** Who the Lease last named as its holder ('' for none), as this process saw it. */
  get leader(): string {
    return this.observed?.spec?.holderIdentity ?? '';
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Stops trying, ends leadership (awaiting onStoppedLeading), then releases the Lease if this process holds it. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.loop;
    await this.stopLeading('shutting down');
    await this.release();
  }

  private async run(): Promise<void> {
    while (!this.stopping.signal.aborted) {
      const outcome = await this.tryWithin(this.options.renewDeadlineMs);
      if (outcome === 'held') {
        if (!this.term && !this.stopping.signal.aborted) this.startLeading();
        this.armWatchdog();
      } else if (outcome === 'held-by-another') {
        this.stopLeading('another candidate holds the lease');
      } else if (this.term && this.clock.now() >= this.renewedAt + this.options.renewDeadlineMs) {
        this.stopLeading('the lease was not renewed within the renew deadline');
      }
      const { retryPeriodMs } = this.options;
      const wait = this.term ? retryPeriodMs : retryPeriodMs * (1 + this.random() * JITTER_FACTOR);
      await this.clock.sleep(wait, this.stopping.signal);
    }
  }

  /** One try, given up on after `timeoutMs` (the API call may hang; the watchdog ends leadership meanwhile). */
  private async tryWithin(timeoutMs: number): Promise<'held' | 'held-by-another' | 'failed'> {
    const generation = ++this.generation;
    const timeout = new AbortController();
    try {
      const outcome = await Promise.race([
        this.tryAcquireOrRenew(generation),
        this.clock.sleep(timeoutMs, timeout.signal).then(() => 'timed-out' as const),
      ]);
      if (outcome === 'timed-out') {
        this.generation++;
        this.callbacks.onError?.(new Error(`no answer from the API server within ${timeoutMs} ms`));
        return 'failed';
      }
      return outcome;
    } catch (error) {
      this.callbacks.onError?.(error);
      return 'failed';
    } finally {
      timeout.abort();
    }
  }

  private async tryAcquireOrRenew(generation: number): Promise<'held' | 'held-by-another' | 'failed'> {
    const current = () => generation === this.generation;
    const sentAt = this.clock.now();
    // The leader writes over the Lease it wrote last without reading it first; a 409 means someone else wrote since.
    if (this.term && this.observed?.spec?.holderIdentity === this.identity) {
      try {
        const written = await this.options.lease.replace(this.record(this.observed, 'renew'));
        if (!current()) return 'failed';
        this.wrote(written, sentAt);
        return 'held';
      } catch (error) {
        if (!isConflict(error)) throw error;
      }
    }
    const lease = await this.options.lease.read();
    if (!current()) return 'failed';
    if (!lease) {
      try {
        const created = await this.options.lease.create(this.record(undefined, 'take'));
        if (!current()) return 'failed';
        this.wrote(created, sentAt);
        return 'held';
      } catch (error) {
        if (isConflict(error)) return 'failed';
        throw error;
      }
    }
    this.observe(lease);
    const holder = lease.spec?.holderIdentity ?? '';
    if (holder && holder !== this.identity && !this.expired(lease)) return 'held-by-another';
    try {
      const written = await this.options.lease.replace(this.record(lease, holder === this.identity ? 'renew' : 'take'));
      if (!current()) return 'failed';
      this.wrote(written, sentAt);
      return 'held';
    } catch (error) {
      // Another candidate wrote between our read and our write: it won this round.
      if (isConflict(error)) return 'failed';
      throw error;
    }
  }

  /** The Lease as this process would write it: renewed (its acquisition kept) or taken (one more transition). */
  private record(lease: V1Lease | undefined, how: 'renew' | 'take'): V1Lease {
    const now = new V1MicroTime();
    const spec: V1LeaseSpec = lease?.spec ?? {};
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: lease?.metadata ?? { name: this.options.lease.name, namespace: this.options.lease.namespace },
      spec: {
        ...spec,
        holderIdentity: this.identity,
        leaseDurationSeconds: Math.ceil(this.options.leaseDurationMs / 1000),
        acquireTime: how === 'renew' && spec.acquireTime ? spec.acquireTime : now,
        renewTime: now,
        leaseTransitions: lease ? (spec.leaseTransitions ?? 0) + (how === 'take' ? 1 : 0) : 0,
      },
    };
  }

  /** Expired by this process's clock: unchanged for its leaseDurationSeconds since this process last saw it change. */
  private expired(lease: V1Lease): boolean {
    const seconds = lease.spec?.leaseDurationSeconds ?? this.options.leaseDurationMs / 1000;
    return this.clock.now() >= this.observedAt + seconds * 1000;
  }

  /** Records what was read; only a change (a new resourceVersion) restarts the lease's clock. */
  private observe(lease: V1Lease): void {
    if (lease.metadata?.resourceVersion !== this.observed?.metadata?.resourceVersion) {
      this.observed = lease;
      this.observedAt = this.clock.now();
    }
    this.reportHolder();
  }

  private wrote(lease: V1Lease, sentAt: number): void {
    this.observed = lease;
    this.observedAt = this.clock.now();
    this.renewedAt = sentAt;
    this.reportHolder();
  }

  private reportHolder(): void {
    const holder = this.leader;
    if (holder === this.reportedHolder) return;
    this.reportedHolder = holder;
    this.callbacks.onNewLeader?.(holder);
  }

  private startLeading(): void {
    this.term = new AbortController();
    this.callbacks.onStartedLeading(this.term.signal);
  }

  /** Ends leadership now: the term aborts and onStoppedLeading runs synchronously; the promise is its completion. */
  private stopLeading(reason: string): Promise<void> {
    const term = this.term;
    if (!term) return this.stopped;
    this.term = undefined;
    this.watchdog?.abort();
    term.abort(new Error(`stopped leading: ${reason}`));
    try {
      this.stopped = Promise.resolve(this.callbacks.onStoppedLeading(reason)).catch((error: unknown) =>
        this.callbacks.onError?.(error),
      );
    } catch (error) {
      this.callbacks.onError?.(error);
      this.stopped = Promise.resolve();
    }
    return this.stopped;
  }

  /** Ends leadership at the renew deadline even while a renewal hangs. */
  private armWatchdog(): void {
    this.watchdog?.abort();
    const watchdog = new AbortController();
    this.watchdog = watchdog;
    const deadline = this.renewedAt + this.options.renewDeadlineMs;
    void this.clock.sleep(deadline - this.clock.now(), watchdog.signal).then(() => {
      if (watchdog.signal.aborted || !this.term || this.clock.now() < this.renewedAt + this.options.renewDeadlineMs) {
        return;
      }
      this.stopLeading('the lease was not renewed within the renew deadline');
    });
  }

  /** Hands the Lease over at once: no holder, and a 1 s duration for whoever saw it held. */
  private async release(): Promise<void> {
    const lease = this.observed;
    if (lease?.spec?.holderIdentity !== this.identity) return;
    const now = new V1MicroTime();
    const timeout = new AbortController();
    try {
      const released = await Promise.race([
        this.options.lease.replace({
          ...lease,
          spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, acquireTime: now, renewTime: now },
        }),
        this.clock.sleep(this.options.renewDeadlineMs, timeout.signal).then(() => {
          throw new Error(`the Lease was not released within ${this.options.renewDeadlineMs} ms`);
        }),
      ]);
      this.observed = released;
      this.callbacks.onReleased?.();
      this.reportHolder();
    } catch (error) {
      // Someone wrote it since (a 409), or the API server is away: the others wait for it to expire instead.
      this.callbacks.onError?.(error);
    } finally {
      timeout.abort();
    }
  }
}
