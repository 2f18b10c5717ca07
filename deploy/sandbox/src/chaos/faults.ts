import { setTimeout as sleep } from 'node:timers/promises';
import { OperatorName, Platform, PLATFORM_NAMESPACE, ServiceName, SERVICES } from '../platform';
import { Sandbox } from '../sandbox';
import { Random } from './random';
import { Log } from './workload';

export const FAULT_KINDS = [
  'kill',
  'kill-leader',
  'stall',
  'stall-nats',
  'partition',
  'delay',
  'nats-restart',
  'nats-restart-all',
  'apiserver-restart',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** One fault as drawn from the seed: what, whom, for how long, and how long after the previous one ended. */
export interface Fault {
  readonly index: number;
  readonly kind: FaultKind;
  readonly service?: ServiceName;
  readonly replica?: number;
  /** The NATS server, for stall-nats and nats-restart. */
  readonly server?: number;
  /** How long a stall, partition or delay lasts, or how long a killed process stays down. */
  readonly durationMs: number;
  readonly gapMs: number;
}

export interface FaultSchedule {
  readonly replicas: number;
  readonly natsServers: number;
  /** The lease duration of the operators (a stall is longer, so a stalled leader loses its Lease). */
  readonly leaseMs: number;
  /** Every kind once, in an order of the seed's, before the random draws (a short run still sees each). */
  readonly everyKindFirst: boolean;
}

const FAILOVER_TIMEOUT_MS = 60_000;

const WEIGHTS: Readonly<Record<Exclude<FaultKind, 'nats-restart-all'>, number>> = {
  kill: 5,
  'kill-leader': 3,
  stall: 2,
  'stall-nats': 1,
  partition: 2,
  delay: 1,
  'nats-restart': 2,
  'apiserver-restart': 1,
};

/**
 * The faults of a run, drawn one after another from `random`: the same seed gives the same sequence. All three NATS
 * servers restart together once, at a draw between the 5th and the 15th.
 */
export function* faultSequence(random: Random, schedule: FaultSchedule): Generator<Fault> {
  const first: FaultKind[] = schedule.everyKindFirst ? shuffled([...FAULT_KINDS], random) : [];
  const allAt = schedule.everyKindFirst ? -1 : random.int(5, 15);
  for (let index = 0; ; index++) {
    const kind: FaultKind = first[index] ?? (index === allAt ? 'nats-restart-all' : random.weighted(WEIGHTS));
    const service = random.pick(SERVICES);
    const replica = random.int(0, schedule.replicas - 1);
    const server = random.int(0, schedule.natsServers - 1);
    // A stall outlasts the lease; now and then it also outlasts JetStream's 30 s ack wait.
    const stallMs = random.chance(0.1) ? 35_000 : random.int(schedule.leaseMs + 1_000, schedule.leaseMs * 2 + 2_000);
    const durationMs =
      kind === 'stall' || kind === 'stall-nats'
        ? stallMs
        : kind === 'partition' || kind === 'delay'
          ? random.int(3_000, 8_000)
          : random.int(500, 2_000);
    yield { index, kind, service, replica, server, durationMs, gapMs: random.int(1_000, 4_000) };
  }
}

function shuffled<T>(items: T[], random: Random): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = random.int(0, i);
    const swapped = items[i] as T;
    items[i] = items[j] as T;
    items[j] = swapped;
  }
  return items;
}

/** What the faults did, for the report. */
export interface FaultRecord {
  readonly injected: Partial<Record<FaultKind, number>>;
  /** Leader kills: from the kill to another replica holding the Lease, in ms. */
  readonly failoverMs: number[];
  /** Leader kills after which no other replica took the Lease within a minute. */
  missedFailovers: number;
  /** When the last fault ended (epoch ms). */
  lastFaultEndedAt: number;
}

/** Applies faults to a running platform and its sandbox, one at a time, until told to stop. */
export class FaultInjector {
  readonly record: FaultRecord = { injected: {}, failoverMs: [], missedFailovers: 0, lastFaultEndedAt: 0 };

  constructor(
    private readonly platform: Platform,
    private readonly sandbox: Sandbox,
    private readonly log: Log,
  ) {}

  /** Until `stopped`, though never before `atLeast` faults were applied. */
  async run(faults: Iterator<Fault>, stopped: () => boolean, atLeast = 0): Promise<void> {
    for (let count = 0; count < atLeast || !stopped(); count++) {
      const { value: fault, done } = faults.next();
      if (done) return;
      await sleep(fault.gapMs);
      this.log('fault', { ...fault });
      try {
        await this.apply(fault);
        this.record.injected[fault.kind] = (this.record.injected[fault.kind] ?? 0) + 1;
      } catch (error) {
        // E.g. its target is down: a crashed process being restarted.
        this.log('fault-not-applied', { index: fault.index, kind: fault.kind, error: String(error) });
      }
      this.record.lastFaultEndedAt = Date.now();
      this.log('fault-ended', { index: fault.index, kind: fault.kind });
    }
  }

  private async apply(fault: Fault): Promise<void> {
    const { service = 'gateway', replica = 0, server = 0, durationMs } = fault;
    switch (fault.kind) {
      case 'kill':
        return this.killAndRestart(service, replica, durationMs);
      case 'kill-leader':
        return this.killLeader(service === 'cleanup' ? 'cleanup' : 'provisioner', durationMs);
      case 'stall':
        this.platform.suspend(service, 'SIGSTOP', replica);
        await sleep(durationMs);
        return this.platform.suspend(service, 'SIGCONT', replica);
      case 'stall-nats': {
        const pid = this.platform.natsPid(server);
        if (pid === undefined) return;
        process.kill(pid, 'SIGSTOP');
        await sleep(durationMs);
        process.kill(pid, 'SIGCONT');
        return;
      }
      case 'partition':
        for (const link of this.platform.natsLinks(service, replica)) link.cut();
        await sleep(durationMs);
        for (const link of this.platform.natsLinks(service, replica)) link.restore();
        return;
      case 'delay':
        for (const link of this.platform.natsLinks(service, replica)) link.hold();
        await sleep(durationMs);
        for (const link of this.platform.natsLinks(service, replica)) link.release();
        return;
      case 'nats-restart':
        return this.platform.restartNats(server);
      case 'nats-restart-all':
        return this.platform.restartAllNats();
      case 'apiserver-restart':
        return this.sandbox.restart('kube-apiserver');
    }
  }

  private async killAndRestart(service: ServiceName, replica: number, downMs: number): Promise<void> {
    await this.platform.kill(service, replica);
    await sleep(downMs);
    await this.platform.launch(service, replica);
  }

  /** SIGKILLs the replica holding the operator's Lease (whatever it is doing: a Helm install, a teardown). */
  private async killLeader(service: OperatorName, downMs: number): Promise<void> {
    const before = await this.leaseHolder(service);
    const failovers = this.record.failoverMs.length;
    const replica = Number(/^[a-z]+-(\d+)_/.exec(before)?.[1] ?? 0);
    const killedAt = Date.now();
    await this.platform.kill(service, replica);
    const restarted = sleep(downMs).then(() => this.platform.launch(service, replica));
    for (const giveUpAt = killedAt + FAILOVER_TIMEOUT_MS; Date.now() < giveUpAt;) {
      const holder = await this.leaseHolder(service).catch(() => '');
      if (holder && holder !== before) {
        this.record.failoverMs.push(Date.now() - killedAt);
        this.log('failover', { service, from: before, to: holder, ms: Date.now() - killedAt });
        break;
      }
      await sleep(100);
    }
    await restarted;
    if (this.record.failoverMs.length === failovers) {
      this.log('failover-missing', { service, from: before });
      this.record.missedFailovers++;
    }
  }

  private async leaseHolder(service: OperatorName): Promise<string> {
    const holder = await this.sandbox.kubectl([
      'get',
      'lease',
      '-n',
      PLATFORM_NAMESPACE,
      `urumi-${service}`,
      '-o',
      'jsonpath={.spec.holderIdentity}',
    ]);
    return holder.trim();
  }
}
