import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { connect } from 'nats';
import { Platform, ServiceName } from '../platform';
import { Sandbox } from '../sandbox';
import { cpuOf, round } from './stats';

/**
 * What the cluster and the platform had done so far, in counters noise cannot move: the API server's requests by
 * verb and resource and the watch events it sent by kind (its own apiserver_request_total and
 * apiserver_watch_events_total), the messages each JetStream stream took (a KV bucket's are its writes), the Helm
 * commands the provisioner ran, and the CPU-seconds of each process (a service's Helm children apart).
 */
export interface CostCounters {
  readonly apiRequests: Readonly<Record<string, number>>;
  /** The same requests by client (from the API server's audit log): `<client>: <verb> <resource>`. */
  readonly clientRequests: Readonly<Record<string, number>>;
  readonly watchEvents: Readonly<Record<string, number>>;
  readonly streamMessages: Readonly<Record<string, number>>;
  readonly helmCommands: number;
  readonly cpuSeconds: Readonly<Record<string, number>>;
}

/** The processes whose CPU time is counted, by name. */
export type Processes = Readonly<Record<string, number | undefined>>;

export async function readCounters(
  sandbox: Sandbox,
  platform: Platform | undefined,
  processes: Processes,
  audit: AuditCounts,
): Promise<CostCounters> {
  const metrics = await sandbox.kubectl(['get', '--raw', '/metrics']);
  return {
    clientRequests: audit.read(),
    apiRequests: sumSeries(metrics, 'apiserver_request_total', (labels) =>
      // The benchmark's own reads of /metrics are no store's.
      labels['resource']
        ? `${labels['verb']} ${labels['resource']}${labels['subresource'] ? `/${labels['subresource']}` : ''}`
        : undefined,
    ),
    watchEvents: sumSeries(metrics, 'apiserver_watch_events_total', (labels) => labels['resource'] ?? labels['kind']),
    streamMessages: platform ? await streamSequences(platform) : {},
    helmCommands: platform ? await helmCommands(platform) : 0,
    cpuSeconds: Object.fromEntries(
      Object.entries(processes).flatMap(([name, pid]) => {
        const cpu = pid === undefined ? undefined : cpuOf(pid);
        if (!cpu) return [];
        return cpu.children > 0
          ? [
              [name, cpu.own],
              [`${name} (children)`, cpu.children],
            ]
          : [[name, cpu.own]];
      }),
    ),
  };
}

/** `after - before` per store, each figure rounded to 2 decimals; `total` sums each map. */
export function perStore(before: CostCounters, after: CostCounters, stores: number) {
  const each = (a: Readonly<Record<string, number>>, b: Readonly<Record<string, number>>) => {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    const delta = Object.fromEntries(
      keys.map((key) => [key, round(((b[key] ?? 0) - (a[key] ?? 0)) / stores, 2)] as const).filter(([, v]) => v !== 0),
    );
    return {
      total: round(
        Object.values(delta).reduce((sum, v) => sum + v, 0),
        2,
      ),
      ...delta,
    };
  };
  return {
    apiRequests: each(before.apiRequests, after.apiRequests),
    requestsByClient: byClient(each(before.clientRequests, after.clientRequests)),
    watchEvents: each(before.watchEvents, after.watchEvents),
    streamMessages: each(before.streamMessages, after.streamMessages),
    helmCommands: round((after.helmCommands - before.helmCommands) / stores, 2),
    cpuSeconds: each(before.cpuSeconds, after.cpuSeconds),
  };
}

export type CostPerStore = ReturnType<typeof perStore>;

/** `<client>: <verb> <resource>` per store, grouped by client, each with its total. */
function byClient(perRequest: Record<string, number>): Record<string, Record<string, number>> {
  const clients: Record<string, Record<string, number>> = {};
  for (const [key, value] of Object.entries(perRequest)) {
    if (key === 'total') continue;
    const [client = '', request = ''] = key.split(': ');
    const entry = (clients[client] ??= { total: 0 });
    entry[request] = value;
    entry['total'] = round((entry['total'] ?? 0) + value, 2);
  }
  return clients;
}

/**
 * Counts the API server's audit events (see SandboxOptions.auditLog) by client, verb and resource, reading on from
 * where it last stopped. A service account is named by its name (urumi-provisioner: the provisioner and its Helm);
 * kube-system's are the controller manager's controllers, counted as one.
 */
export class AuditCounts {
  private offset = 0;
  private rest = '';
  private readonly counts: Record<string, number> = {};

  constructor(private readonly file: string) {}

  read(): Record<string, number> {
    const size = statSync(this.file, { throwIfNoEntry: false })?.size ?? 0;
    if (size > this.offset) {
      const fd = openSync(this.file, 'r');
      try {
        const buffer = Buffer.alloc(size - this.offset);
        readSync(fd, buffer, 0, buffer.length, this.offset);
        this.offset = size;
        const lines = (this.rest + buffer.toString('utf8')).split('\n');
        this.rest = lines.pop() ?? '';
        for (const line of lines) this.count(line);
      } finally {
        closeSync(fd);
      }
    }
    return { ...this.counts };
  }

  private count(line: string): void {
    if (!line) return;
    const event = JSON.parse(line) as {
      verb: string;
      user?: { username?: string };
      objectRef?: { resource?: string; subresource?: string };
    };
    const resource = event.objectRef?.resource;
    if (!resource) return;
    const key = `${clientOf(event.user?.username ?? 'unknown')}: ${event.verb} ${resource}${event.objectRef?.subresource ? `/${event.objectRef.subresource}` : ''}`;
    this.counts[key] = (this.counts[key] ?? 0) + 1;
  }
}

function clientOf(username: string): string {
  const serviceAccount = /^system:serviceaccount:([^:]+):(.+)$/.exec(username);
  if (!serviceAccount) return username.replace(/^system:/, '');
  return serviceAccount[1] === 'kube-system' ? 'controllers' : (serviceAccount[2] ?? username);
}

/** Sums a Prometheus text exposition's counter over the series `keyOf` names (undefined: left out). */
export function sumSeries(
  text: string,
  metric: string,
  keyOf: (labels: Record<string, string>) => string | undefined,
): Record<string, number> {
  const sums: Record<string, number> = {};
  for (const match of text.matchAll(new RegExp(`^${metric}\\{([^}]*)\\} (\\S+)$`, 'gm'))) {
    const labels = Object.fromEntries([...(match[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    const key = keyOf(labels as Record<string, string>);
    if (key !== undefined) sums[key] = (sums[key] ?? 0) + Number(match[2]);
  }
  return sums;
}

/** Each stream's last sequence: the messages it has taken since it was made (deleted ones included). */
async function streamSequences(platform: Platform): Promise<Record<string, number>> {
  const { url, user, password } = platform.nats;
  const nc = await connect({ servers: url.split(','), user, pass: password });
  try {
    const sequences: Record<string, number> = {};
    for await (const stream of (await nc.jetstreamManager()).streams.list()) {
      sequences[stream.config.name] = stream.state.last_seq;
    }
    return sequences;
  } finally {
    await nc.close();
  }
}

async function helmCommands(platform: Platform): Promise<number> {
  const text = await (await fetch(platform.metricsUrlOf('provisioner' satisfies ServiceName))).text();
  return Object.values(sumSeries(text, 'urumi_helm_command_duration_seconds_count', () => 'all'))[0] ?? 0;
}
