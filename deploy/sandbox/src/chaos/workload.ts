import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { SeededUser } from '../tokens';
import { Random } from './random';

/** How a lifecycle ends: deleted once settled, deleted right after its create (racing it), or kept. */
export type Ending = 'delete-when-settled' | 'delete-at-once' | 'keep';

/** One store's life as planned from the seed: who, how it ends, and whether its create is retried with its key. */
export interface LifecyclePlan {
  readonly index: number;
  readonly tenant: string;
  readonly ending: Ending;
  /** The create is sent again with the same Idempotency-Key, to another gateway replica: it must name the same store. */
  readonly retryCreate: boolean;
}

/** What became of one lifecycle, as the client saw it. */
export interface Lifecycle {
  readonly plan: LifecyclePlan;
  name?: string;
  /** Set once a create was accepted (202). */
  id?: string;
  acceptedAt?: number;
  readyAt?: number;
  /** The step it settled at: ready, failed or rejected. */
  settled?: string;
  reason?: string;
  deleteAccepted?: boolean;
  /** Seen gone (404) after its delete was accepted. */
  gone?: boolean;
  /** Why it could not finish, when it could not: a violation. */
  problem?: string;
  /** Its client is done with it. */
  finished?: boolean;
}

/** A line of the run's event log. */
export type Log = (event: string, fields?: Record<string, unknown>) => void;

export interface WorkloadOptions {
  /** In its store names: each workload of a run has names of its own, as the stores it keeps hold theirs. */
  readonly phase: string;
  readonly gateways: () => readonly string[];
  readonly tenants: readonly SeededUser[];
  readonly plans: readonly LifecyclePlan[];
  /** Lifecycles a tenant runs at once (more than its quota allows, so some are rejected). */
  readonly parallelPerTenant: number;
  /** How long one step of a lifecycle may take (create accepted, settled, gone) before it is a violation. */
  readonly stepTimeoutMs: number;
  readonly log: Log;
}

interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown> | undefined;
  readonly retryAfterMs: number;
}

const REQUEST_TIMEOUT_MS = 10_000;
const POLL_MS = 500;
const SETTLED = new Set(['ready', 'failed', 'rejected']);

/**
 * The plan of `count` lifecycles from `random`: tenants in turn, endings and retries at random. A tenant keeps at
 * most `keepPerTenant` stores (a drawn keep past that deletes when settled), so that what it keeps never eats the
 * whole of its quota.
 */
export function planLifecycles(
  count: number,
  tenants: readonly SeededUser[],
  random: Random,
  keepPerTenant: number,
): LifecyclePlan[] {
  const kept = new Map<string, number>();
  return Array.from({ length: count }, (_, index) => {
    const tenant = random.pick(tenants).name;
    let ending = random.weighted<Ending>({ 'delete-when-settled': 5, 'delete-at-once': 2, keep: 1 });
    if (ending === 'keep') {
      if ((kept.get(tenant) ?? 0) < keepPerTenant) kept.set(tenant, (kept.get(tenant) ?? 0) + 1);
      else ending = 'delete-when-settled';
    }
    return { index, tenant, ending, retryCreate: random.chance(0.25) };
  });
}

/**
 * Tenants creating and deleting stores through the API as a real client would: every request with a timeout, each
 * state-changing one with an Idempotency-Key and retried (on any gateway replica) while the platform cannot answer.
 * Names come from a small pool per tenant, so a name is used again right after its store is gone. What a client must
 * never see — an accepted store that vanishes, a retry that names another store, a store that never settles — is
 * recorded on the lifecycle as its problem.
 */
export class Workload {
  readonly lifecycles: Lifecycle[] = [];
  private readonly names = new Map<string, Set<string>>();

  constructor(private readonly options: WorkloadOptions) {}

  async run(): Promise<void> {
    const byTenant = new Map<string, LifecyclePlan[]>();
    for (const plan of this.options.plans) byTenant.set(plan.tenant, [...(byTenant.get(plan.tenant) ?? []), plan]);
    await Promise.all(
      [...byTenant].flatMap(([tenant, plans]) =>
        Array.from({ length: this.options.parallelPerTenant }, (_, lane) =>
          this.lane(
            tenant,
            plans.filter((_, i) => i % this.options.parallelPerTenant === lane),
          ),
        ),
      ),
    );
  }

  /**
   * Deletes every store the run kept, and waits until each is gone: the sandbox is left as the run found it. Returns
   * why each one that would not go did not.
   */
  async removeKept(): Promise<string[]> {
    const kept = this.lifecycles.filter(
      (l) => l.id && !l.deleteAccepted && !l.problem && (l.settled === 'ready' || l.settled === 'failed'),
    );
    const failures = await Promise.all(
      kept.map((lifecycle) =>
        this.remove(lifecycle, lifecycle.id as string).then(
          () => [],
          (error: unknown) => [`${lifecycle.id}: ${String(error)}`],
        ),
      ),
    );
    return failures.flat();
  }

  private async lane(tenant: string, plans: readonly LifecyclePlan[]): Promise<void> {
    for (const plan of plans) {
      const lifecycle: Lifecycle = { plan };
      this.lifecycles.push(lifecycle);
      const name = this.takeName(tenant);
      lifecycle.name = name;
      try {
        await this.live(lifecycle, name);
      } catch (error) {
        lifecycle.problem ??= String(error);
      } finally {
        // A kept store holds its name for good; the name of one that is gone (or was rejected) is free again.
        if (lifecycle.gone || lifecycle.settled === 'rejected' || !lifecycle.id) this.names.get(tenant)?.delete(name);
        lifecycle.finished = true;
      }
      if (lifecycle.problem) this.options.log('lifecycle-problem', { index: plan.index, problem: lifecycle.problem });
    }
  }

  /** The first name of the tenant's pool no lifecycle of its own holds: a name just freed is taken again at once. */
  private takeName(tenant: string): string {
    const held = this.names.get(tenant) ?? new Set<string>();
    this.names.set(tenant, held);
    for (let i = 0; ; i++) {
      const name = `${tenant}-${this.options.phase}${i}`;
      if (!held.has(name)) {
        held.add(name);
        return name;
      }
    }
  }

  private async live(lifecycle: Lifecycle, name: string): Promise<void> {
    const { plan } = lifecycle;
    const id = await this.create(lifecycle, name);
    if (!id) return;
    if (plan.ending === 'delete-at-once') {
      await this.remove(lifecycle, id);
      return;
    }
    await this.settle(lifecycle, id);
    if (plan.ending === 'delete-when-settled' && lifecycle.settled !== 'rejected') await this.remove(lifecycle, id);
  }

  /** POST until accepted; a name still held by the tenant's store that just went is tried again for a while. */
  private async create(lifecycle: Lifecycle, name: string): Promise<string | undefined> {
    const deadline = Date.now() + this.options.stepTimeoutMs;
    const body = { name, engine: 'woocommerce' };
    for (;;) {
      const key = randomUUID();
      const answer = await this.retrying(lifecycle.plan.tenant, 'POST', '/api/v1/stores', body, key, deadline);
      if (answer.status === 202) {
        const id = String(answer.body?.['id']);
        lifecycle.id = id;
        lifecycle.acceptedAt = Date.now();
        this.options.log('create-accepted', { index: lifecycle.plan.index, name, id });
        if (lifecycle.plan.retryCreate) await this.retryCreate(lifecycle, body, key, deadline);
        return id;
      }
      if (answer.status === 409 && /is taken/.test(String(answer.body?.['message']))) {
        if (Date.now() > deadline) throw new Error(`name ${name} stayed taken after its store was gone`);
        await sleep(POLL_MS);
        continue;
      }
      throw new Error(`POST /api/v1/stores answered ${answer.status}: ${JSON.stringify(answer.body)}`);
    }
  }

  /** The same create again, under the same key: it must answer the same store. */
  private async retryCreate(lifecycle: Lifecycle, body: unknown, key: string, deadline: number): Promise<void> {
    const again = await this.retrying(lifecycle.plan.tenant, 'POST', '/api/v1/stores', body, key, deadline);
    if (again.status !== 202 || again.body?.['id'] !== lifecycle.id) {
      lifecycle.problem = `a retry of the create with its Idempotency-Key answered ${again.status} ${JSON.stringify(again.body)}, not store ${lifecycle.id}`;
    }
  }

  /** Polls until the store is Ready, Failed or Rejected; it must never be missing meanwhile. */
  private async settle(lifecycle: Lifecycle, id: string): Promise<void> {
    const deadline = Date.now() + this.options.stepTimeoutMs;
    let step = 'unknown';
    while (Date.now() < deadline) {
      const answer = await this.retrying(
        lifecycle.plan.tenant,
        'GET',
        `/api/v1/stores/${id}`,
        undefined,
        undefined,
        deadline,
      );
      if (answer.status === 404) throw new Error(`accepted store ${id} vanished before it was deleted (at ${step})`);
      if (answer.status !== 200) throw new Error(`GET store ${id} answered ${answer.status}`);
      step = String(answer.body?.['step']);
      if (SETTLED.has(step)) {
        lifecycle.settled = step;
        lifecycle.reason = answer.body?.['reason'] as string | undefined;
        if (step === 'ready') lifecycle.readyAt = Date.now();
        this.options.log('settled', { index: lifecycle.plan.index, id, step, reason: lifecycle.reason });
        return;
      }
      await sleep(POLL_MS);
    }
    throw new Error(`store ${id} did not settle within ${this.options.stepTimeoutMs / 1000}s (last seen ${step})`);
  }

  /** DELETE until accepted, then polls until the store is gone. */
  private async remove(lifecycle: Lifecycle, id: string): Promise<void> {
    const deadline = Date.now() + this.options.stepTimeoutMs;
    const path = `/api/v1/stores/${id}`;
    const answer = await this.retrying(lifecycle.plan.tenant, 'DELETE', path, undefined, randomUUID(), deadline);
    if (answer.status !== 202)
      throw new Error(`DELETE store ${id} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
    lifecycle.deleteAccepted = true;
    this.options.log('delete-accepted', { index: lifecycle.plan.index, id });
    let step = 'unknown';
    const goneBy = Date.now() + this.options.stepTimeoutMs;
    while (Date.now() < goneBy) {
      const seen = await this.retrying(lifecycle.plan.tenant, 'GET', path, undefined, undefined, goneBy);
      if (seen.status === 404) {
        lifecycle.gone = true;
        this.options.log('gone', { index: lifecycle.plan.index, id });
        return;
      }
      step = String(seen.body?.['step']);
      await sleep(POLL_MS);
    }
    throw new Error(
      `store ${id} was not gone within ${this.options.stepTimeoutMs / 1000}s of its delete (last seen ${step})`,
    );
  }

  /**
   * One request, sent again (to any replica, with the same key) while the platform cannot answer: no answer, a 5xx,
   * a 429, or a 409 for a request with this key still in progress. Any other answer is returned.
   */
  private async retrying(
    tenant: string,
    method: string,
    path: string,
    body: unknown,
    key: string | undefined,
    deadline: number,
  ): Promise<Answer> {
    let last = 'no attempt';
    for (let attempt = 0; Date.now() < deadline; attempt++) {
      // Which replica answers is left to chance, as a load balancer's choice is: it is not part of the seeded plan.
      const gateways = this.options.gateways();
      const gateway = gateways[Math.floor(Math.random() * gateways.length)] as string;
      const answer = await this.send(gateway, tenant, method, path, body, key).catch((error: unknown) => {
        last = `${gateway}: ${String(error)}`;
        return undefined;
      });
      const inProgress = answer?.status === 409 && !/is taken/.test(String(answer.body?.['message']));
      if (answer && answer.status < 500 && answer.status !== 429 && !inProgress) return answer;
      if (answer) last = `${gateway}: ${answer.status} ${JSON.stringify(answer.body)}`;
      await sleep(Math.max(answer?.retryAfterMs ?? 0, Math.min(250 * 2 ** attempt, 2_000)));
    }
    throw new Error(`${method} ${path} got no answer in time; last: ${last}`);
  }

  private async send(
    gateway: string,
    tenant: string,
    method: string,
    path: string,
    body: unknown,
    key: string | undefined,
  ): Promise<Answer> {
    const user = this.options.tenants.find((t) => t.name === tenant);
    if (!user) throw new Error(`no tenant ${tenant}`);
    const res = await fetch(`${gateway}${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${user.token}`,
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        ...(key ? { 'Idempotency-Key': key } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const text = await res.text();
    const retryAfter = Number(res.headers.get('retry-after'));
    return {
      status: res.status,
      body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined,
      retryAfterMs: Number.isFinite(retryAfter) ? retryAfter * 1000 : 0,
    };
  }
}
