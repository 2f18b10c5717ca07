import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  Optional,
} from '@nestjs/common';
import { ConfigError, envNumber, envString } from '@urumi/runtime';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { Gauge, Registry } from 'prom-client';
import { KubeClients } from './client';
import { describeKubeError } from './errors';
import { JITTER_FACTOR, kubeLeaseApi, LeaderElector, leaderIdentity } from './leader-election';

/** Where a pod finds its own namespace. */
export const SERVICE_ACCOUNT_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';
/** How long a clean shutdown lets the leader's work in flight finish: with the consumers' 10 s, within the pods' 30 s grace period. */
const DRAIN_MS = 15_000;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export interface LeaderElectionSettings {
  /** Off: this process acts as the leader from the start (one replica only). */
  readonly enabled: boolean;
  readonly namespace: string;
  readonly leaseName: string;
  /** The pod's name (downward API); the identity in the Lease adds a random suffix. */
  readonly podName: string;
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
}

export const LEADER_ELECTION = Symbol('LEADER_ELECTION');

/**
 * LEADER_ELECTION (true|false, default true), LEADER_ELECTION_NAMESPACE (default: the pod's namespace, else
 * urumi-system), LEADER_ELECTION_LEASE_NAME (default `defaultLease`), POD_NAME (default: the host name) and
 * LEASE_DURATION_SECONDS / RENEW_DEADLINE_SECONDS / RETRY_PERIOD_SECONDS (15 / 10 / 2, as client-go's callers use).
 */
export function leaderElectionFromEnv(
  env: NodeJS.ProcessEnv,
  defaultLease: string,
  namespaceFile = SERVICE_ACCOUNT_NAMESPACE_FILE,
): LeaderElectionSettings {
  const enabled = envString(env, 'LEADER_ELECTION', 'true');
  if (enabled !== 'true' && enabled !== 'false') {
    throw new ConfigError(`LEADER_ELECTION must be true or false, not "${enabled}"`);
  }
  const namespace = envString(env, 'LEADER_ELECTION_NAMESPACE', podNamespace(namespaceFile) ?? 'urumi-system');
  const leaseName = envString(env, 'LEADER_ELECTION_LEASE_NAME', defaultLease);
  for (const [name, value] of [
    ['LEADER_ELECTION_NAMESPACE', namespace],
    ['LEADER_ELECTION_LEASE_NAME', leaseName],
  ] as const) {
    if (!DNS_LABEL.test(value) || value.length > 63) {
      throw new ConfigError(`${name} must be a DNS-1123 label (lower-case letters, digits, '-'), not "${value}"`);
    }
  }
  const seconds = (name: string, fallback: number) => envNumber(env, name, fallback, { min: 0.1, max: 3600 }) * 1000;
  const leaseDurationMs = seconds('LEASE_DURATION_SECONDS', 15);
  const renewDeadlineMs = seconds('RENEW_DEADLINE_SECONDS', 10);
  const retryPeriodMs = seconds('RETRY_PERIOD_SECONDS', 2);
  if (leaseDurationMs <= renewDeadlineMs) {
    throw new ConfigError(
      'LEASE_DURATION_SECONDS must be greater than RENEW_DEADLINE_SECONDS (the leader stops before its lease expires)',
    );
  }
  if (renewDeadlineMs <= JITTER_FACTOR * retryPeriodMs) {
    throw new ConfigError(`RENEW_DEADLINE_SECONDS must be greater than ${JITTER_FACTOR} × RETRY_PERIOD_SECONDS`);
  }
  return {
    enabled: enabled === 'true',
    namespace,
    leaseName,
    podName: envString(env, 'POD_NAME', hostname()),
    leaseDurationMs,
    renewDeadlineMs,
    retryPeriodMs,
  };
}

function podNamespace(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** What a write attempted by a replica that no longer leads throws: the leader's work stops there. */
export class NotLeadingError extends Error {
  override readonly name = 'NotLeadingError';
}

/** Work only the leader does: started when this process begins leading, stopped the moment it ends. */
export interface LeaderTask {
  /** `term` aborts when leadership ends (give it to child processes, e.g. Helm's). */
  start(term: AbortSignal): void;
  /** Stop taking work; the promise settles when the work in flight has stopped. Called again when leadership ends. */
  stop(): void | Promise<void>;
}

/**
 * This process's part in its service's leader election (LeaderElector on the service's Lease): what registers with
 * whileLeading() runs only while this replica leads. Every replica is ready (/readyz) whether it leads or stands by;
 * who leads is in the log ("Started leading", "Leader elected") and in the urumi_leader_election_is_leader gauge.
 */
@Injectable()
export class Leadership implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(Leadership.name);
  private readonly tasks = new Map<string, LeaderTask>();
  private readonly elector?: LeaderElector;
  private readonly identityInLease: string;
  private readonly gauge?: Gauge;
  private term?: AbortSignal;
  private unelected?: AbortController;

  constructor(
    @Inject(LEADER_ELECTION) private readonly settings: LeaderElectionSettings,
    @Inject(KubeClients) kube: KubeClients,
    @Optional() @Inject(Registry) registry?: Registry,
  ) {
    this.identityInLease = leaderIdentity(settings.podName);
    if (registry) {
      this.gauge = new Gauge({
        name: 'urumi_leader_election_is_leader',
        help: "1 while this replica leads its service's Lease, 0 while it stands by",
        labelNames: ['lease', 'identity'],
        registers: [registry],
      });
      this.gauge.set(this.labels, 0);
    }
    if (!settings.enabled) return;
    const lead = { lease: settings.leaseName, identity: this.identityInLease };
    const { leaseDurationMs, renewDeadlineMs, retryPeriodMs } = settings;
    this.elector = new LeaderElector(
      {
        lease: kubeLeaseApi(kube, settings.namespace, settings.leaseName),
        identity: this.identityInLease,
        leaseDurationMs,
        renewDeadlineMs,
        retryPeriodMs,
      },
      {
        onStartedLeading: (term) => {
          this.logger.log({ msg: 'Started leading', ...lead, namespace: settings.namespace });
          this.begin(term);
        },
        onStoppedLeading: (reason) => {
          this.logger.warn({ msg: 'Stopped leading', ...lead, reason });
          return this.end();
        },
        onNewLeader: (leader) =>
          this.logger.log(
            leader
              ? { msg: 'Leader elected', lease: settings.leaseName, leader }
              : { msg: 'No leader: the lease was released', lease: settings.leaseName },
          ),
        onReleased: () => this.logger.log({ msg: 'Released the lease', ...lead }),
        onError: (error) =>
          this.logger.debug({ msg: 'Leader election try failed', ...lead, error: describeKubeError(error) }),
      },
    );
  }

  get identity(): string {
    return this.identityInLease;
  }

  /** Whether this replica may act as the leader right now (false past the renew deadline, before the callbacks ran). */
  get isLeading(): boolean {
    return this.elector ? this.elector.isLeading : this.term !== undefined && !this.term.aborted;
  }

  /**
   * Throws NotLeadingError unless this replica leads now and `term` (the term the work began in) has not ended: called
   * before each write, so work that a lost lease (or a SIGSTOP outlasting it) interrupted writes nothing more.
   */
  assertLeading(term: AbortSignal | undefined): void {
    if (!term || term.aborted || !this.isLeading) {
      throw new NotLeadingError(`this replica (${this.identityInLease}) no longer leads ${this.settings.leaseName}`);
    }
  }

  /** Runs `task` while this replica leads: at once if it leads now, else from when it begins. */
  whileLeading(name: string, task: LeaderTask): void {
    this.tasks.set(name, task);
    if (this.term && !this.term.aborted) this.startTask(name, task, this.term);
  }

  onApplicationBootstrap(): void {
    if (this.elector) {
      this.logger.log({
        msg: 'Standing for leader',
        lease: this.settings.leaseName,
        namespace: this.settings.namespace,
        identity: this.identityInLease,
      });
      this.elector.start();
      return;
    }
    this.logger.log({ msg: 'Leader election off: acting as the only replica', identity: this.identityInLease });
    this.unelected = new AbortController();
    this.begin(this.unelected.signal);
  }

  /**
   * Before anything else shuts down: the tasks stop taking work and finish what is in flight while the Lease is still
   * renewed (nothing left half done, such as a Helm release locked mid-install); past DRAIN_MS, or should the Lease be
   * lost meanwhile, the term aborts and kills what is left. Then the Lease is released for another replica at once.
   */
  async beforeApplicationShutdown(): Promise<void> {
    if (this.term && !this.term.aborted) {
      const drained = new AbortController();
      await Promise.race([
        this.stopTasks(),
        sleep(DRAIN_MS, undefined, { signal: drained.signal }).catch(() => undefined),
      ]);
      drained.abort();
    }
    if (this.elector) {
      await this.elector.stop();
      return;
    }
    this.unelected?.abort();
    await this.end();
  }

  private get labels(): { lease: string; identity: string } {
    return { lease: this.settings.leaseName, identity: this.identityInLease };
  }

  private begin(term: AbortSignal): void {
    this.term = term;
    this.gauge?.set(this.labels, 1);
    for (const [name, task] of this.tasks) this.startTask(name, task, term);
  }

  private async end(): Promise<void> {
    this.term = undefined;
    this.gauge?.set(this.labels, 0);
    await this.stopTasks();
  }

  private async stopTasks(): Promise<void> {
    await Promise.all(
      [...this.tasks].map(async ([name, task]) => {
        try {
          await task.stop();
        } catch (error) {
          this.logger.error({ msg: 'A leader task failed to stop', task: name, error: describeKubeError(error) });
        }
      }),
    );
  }

  private startTask(name: string, task: LeaderTask, term: AbortSignal): void {
    try {
      task.start(term);
    } catch (error) {
      this.logger.error({ msg: 'A leader task failed to start', task: name, error: describeKubeError(error) });
    }
  }
}
