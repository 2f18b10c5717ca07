import type { Violation } from './invariants';

/** The log lines that begin a replica's term as its service's only actor. */
const TERM_STARTS = new Set(['Started leading', 'Leader election off: acting as the only replica']);

/** The log lines each operator writes right after a write to the cluster that only its leader may make. */
const ACTIONS: Readonly<Record<string, ReadonlySet<string>>> = {
  provisioner: new Set([
    'Credentials created',
    'Credentials completed',
    'Installed engine chart',
    'Reinstalled missing workloads',
  ]),
  cleanup: new Set(['Deleted Namespace', 'Store deleted']),
};

/** Violations past this many are counted, not listed (a run without leader election has hundreds). */
const LISTED = 20;

interface Entry {
  readonly at: number;
  readonly instance: string;
  readonly kind: 'term' | 'action';
  readonly msg: string;
  readonly store?: string;
}

/**
 * Two replicas never act on one store at once, read from the operators' own log lines: each replica's term begins
 * with its "Started leading" line (or "Leader election off") and, once another replica of the service begins a newer
 * term, a line recording a leader's write from the older one means it acted beside the new leader. A replica that was
 * killed writes nothing more, and one that lost its Lease (say, stalled past it) must not write again until it leads
 * again. Times are the lines' own (every process on this machine shares its clock), not the order the lines arrive in.
 */
export class LeaderTerms {
  private readonly entries = new Map<string, Entry[]>();

  /** One line of a service's output as the platform prefixes it: `[provisioner-1] {"time":…,"msg":…}`. */
  observe(line: string): void {
    const match = /^\[([a-z]+)(?:-\d+)?\] (\{.*\})$/.exec(line);
    const service = match?.[1];
    if (!match || !service || !(service in ACTIONS)) return;
    let fields: { time?: string; msg?: unknown; store?: unknown };
    try {
      fields = JSON.parse(match[2] ?? '') as typeof fields;
    } catch {
      return;
    }
    if (typeof fields.msg !== 'string' || !fields.time) return;
    const kind = TERM_STARTS.has(fields.msg) ? 'term' : ACTIONS[service]?.has(fields.msg) ? 'action' : undefined;
    if (!kind) return;
    const instance = line.slice(1, line.indexOf(']'));
    const store = typeof fields.store === 'string' ? fields.store : undefined;
    const entries = this.entries.get(service) ?? [];
    entries.push({ at: Date.parse(fields.time), instance, kind, msg: fields.msg, store });
    this.entries.set(service, entries);
  }

  /** How many terms each service's replicas began (a run that saw no failover proved little). */
  terms(): Record<string, number> {
    return Object.fromEntries(
      [...this.entries].map(([service, entries]) => [service, entries.filter((e) => e.kind === 'term').length]),
    );
  }

  violations(): Violation[] {
    const violations: Violation[] = [];
    for (const [service, entries] of this.entries) {
      // At the same millisecond an action counts as before the term: a tie is no proof of overlap.
      const ordered = [...entries].sort(
        (a, b) => a.at - b.at || (a.kind === b.kind ? 0 : a.kind === 'action' ? -1 : 1),
      );
      let leader: Entry | undefined;
      const found: string[] = [];
      for (const entry of ordered) {
        if (entry.kind === 'term') leader = entry;
        else if (leader && leader.instance !== entry.instance) {
          found.push(
            `${entry.instance} logged "${entry.msg}"${entry.store ? ` for ${entry.store}` : ''} at ` +
              `${new Date(entry.at).toISOString()}, while ${leader.instance} led since ${new Date(leader.at).toISOString()}`,
          );
        }
      }
      for (const detail of found.slice(0, LISTED)) {
        violations.push({ invariant: 'two replicas never act on one store at once', detail });
      }
      if (found.length > LISTED) {
        violations.push({
          invariant: 'two replicas never act on one store at once',
          detail: `and ${found.length - LISTED} more ${service} writes by a replica that did not lead`,
        });
      }
    }
    return violations;
  }
}
