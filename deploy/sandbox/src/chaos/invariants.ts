import { createHash } from 'node:crypto';
import { connect, NatsConnection } from 'nats';
import { PlatformNats, UnexpectedExit } from '../platform';
import { Sandbox } from '../sandbox';
import { SeededUser } from '../tokens';
import { Lifecycle } from './workload';

/** One broken promise, in words an engineer can start from. */
export interface Violation {
  readonly invariant: string;
  readonly detail: string;
}

export interface InvariantInputs {
  readonly sandbox: Sandbox;
  readonly nats: PlatformNats;
  /** Every gateway replica's base URL. */
  readonly gateways: readonly string[];
  readonly admin: SeededUser;
  /** The run's tenants: only their stores are the run's (the sandbox may hold others). */
  readonly tenants: readonly string[];
  readonly lifecycles: readonly Lifecycle[];
  readonly unexpectedExits: readonly UnexpectedExit[];
}

interface StoreObject {
  metadata: { name: string; deletionTimestamp?: string; finalizers?: string[] };
  spec: { storeId: string; owner: string };
  status?: { phase?: string };
}

interface Listed<T> {
  items: T[];
}

interface Labelled {
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
}

const STORE_ID_LABEL = 'urumi.dev/store-id';

/**
 * Checks what must hold once a chaos run is quiet: every store a client was promised is where the promise says, the
 * cluster holds nothing else of the run's, and quota, every gateway replica's read model and the dead-letter
 * stream agree with it. Returns every violation found (none: the run passed).
 */
export async function checkInvariants(inputs: InvariantInputs): Promise<Violation[]> {
  const violations: Violation[] = [];
  const fail = (invariant: string, detail: string) => violations.push({ invariant, detail });
  const { lifecycles } = inputs;

  for (const lifecycle of lifecycles) {
    if (lifecycle.problem)
      fail('client saw the promise kept', `lifecycle ${lifecycle.plan.index}: ${lifecycle.problem}`);
  }
  for (const exit of inputs.unexpectedExits) {
    fail(
      'no service restarted by its own crash',
      `${exit.instance} exited by itself (code ${exit.code}, signal ${exit.signal}); its last output:\n${exit.output.join('\n')}`,
    );
  }

  const accepted = lifecycles.flatMap((l) => (l.id ? [{ ...l, id: l.id }] : []));
  const live = new Map(
    accepted
      .filter((l) => !l.deleteAccepted && (l.settled === 'ready' || l.settled === 'failed'))
      .map((l) => [l.id, l]),
  );
  const gone = new Set(accepted.filter((l) => l.deleteAccepted || l.settled === 'rejected').map((l) => l.id));
  const ours = (owner: string) => inputs.tenants.includes(owner);

  // The cluster.
  const stores = (await kubeJson<Listed<StoreObject>>(inputs.sandbox, 'get', 'stores')).items.filter((s) =>
    ours(s.spec.owner),
  );
  const storeIds = new Set(stores.map((s) => s.spec.storeId));
  for (const store of stores) {
    if (store.metadata.deletionTimestamp) {
      fail(
        'no Store left with a finalizer',
        `Store ${store.metadata.name} (${store.spec.storeId}) is being deleted since ${store.metadata.deletionTimestamp}, finalizers ${JSON.stringify(store.metadata.finalizers)}`,
      );
    }
    if (gone.has(store.spec.storeId)) {
      fail(
        'every accepted delete reached Deleted',
        `Store ${store.metadata.name} (${store.spec.storeId}) still exists`,
      );
    } else if (!live.has(store.spec.storeId)) {
      fail(
        'nothing the clients were not promised',
        `Store ${store.metadata.name} (${store.spec.storeId}) is no lifecycle's live store`,
      );
    }
  }
  for (const [id, lifecycle] of live) {
    if (!storeIds.has(id)) fail('every live store is in the cluster', `store ${lifecycle.name} (${id}) has no Store`);
  }

  const namespaces = (await kubeJson<Listed<Labelled>>(inputs.sandbox, 'get', 'namespaces', '-l', STORE_ID_LABEL))
    .items;
  const namespacesById = new Map<string, string[]>();
  for (const ns of namespaces) {
    const id = ns.metadata.labels?.[STORE_ID_LABEL] ?? '';
    namespacesById.set(id, [...(namespacesById.get(id) ?? []), ns.metadata.name]);
  }
  for (const [id, lifecycle] of live) {
    const found = namespacesById.get(id) ?? [];
    if (found.length !== 1) {
      fail(
        'exactly one namespace per live store',
        `store ${lifecycle.name} (${id}) has namespaces ${JSON.stringify(found)}`,
      );
    }
  }
  for (const id of gone) {
    const found = namespacesById.get(id);
    if (found) fail('no namespace for a deleted store', `store ${id} still has ${JSON.stringify(found)}`);
  }
  const liveNamespaces = new Set([...live.keys()].flatMap((id) => namespacesById.get(id) ?? []));
  const runNamespaces = new Set(
    [...namespacesById].filter(([id]) => live.has(id) || gone.has(id)).flatMap(([, names]) => names),
  );

  // The provisioner keeps Helm's release records in ConfigMaps (HELM_DRIVER=configmap), labelled owner=helm.
  const records = (await kubeJson<Listed<Labelled>>(inputs.sandbox, 'get', 'configmaps', '-A', '-l', 'owner=helm'))
    .items;
  const releasesIn = (ns: string) =>
    new Set(records.filter((r) => r.metadata.namespace === ns).map((r) => r.metadata.labels?.['name'] ?? ''));
  for (const ns of runNamespaces) {
    if (!liveNamespaces.has(ns) && releasesIn(ns).size) {
      fail('no orphan Helm release', `${ns} (a deleted store's) holds releases ${[...releasesIn(ns)].join(', ')}`);
    }
  }
  for (const ns of liveNamespaces) {
    const count = releasesIn(ns).size;
    if (count !== 1) fail('one Helm release per live store', `${ns} has ${count} releases`);
  }
  const leftovers = await kubeJson<Listed<Labelled>>(inputs.sandbox, 'get', 'pvc,secrets', '-A', '-l', STORE_ID_LABEL);
  for (const item of leftovers.items) {
    const id = item.metadata.labels?.[STORE_ID_LABEL] ?? '';
    if (gone.has(id))
      fail('no orphan PVC or Secret', `${item.metadata.namespace}/${item.metadata.name} of deleted store ${id}`);
  }

  // NATS: quota's ledger and the dead letters.
  const nc = await connect({ servers: inputs.nats.url.split(','), user: inputs.nats.user, pass: inputs.nats.password });
  try {
    await checkQuota(nc, inputs.tenants, live, fail);
    await checkDeadLetters(nc, new Set(accepted.filter((l) => l.settled === 'rejected').map((l) => l.id)), fail);
  } finally {
    await nc.close();
  }

  // Every gateway replica's read model.
  for (const gateway of inputs.gateways) {
    const shown = (await listAll(gateway, inputs.admin)).filter((s) => ours(s.owner));
    const shownIds = new Map(shown.map((s) => [s.id, s.step]));
    for (const [id, lifecycle] of live) {
      const step = shownIds.get(id);
      if (step !== 'ready' && step !== 'failed') {
        fail(
          'the read model on every gateway equals the cluster',
          `${gateway} shows store ${lifecycle.name} (${id}) as ${step ?? 'missing'}`,
        );
      }
    }
    for (const [id, step] of shownIds) {
      if (gone.has(id) && step !== 'rejected') {
        fail(
          'the read model on every gateway equals the cluster',
          `${gateway} still shows deleted store ${id} (${step})`,
        );
      }
      if (!live.has(id) && !gone.has(id)) {
        fail(
          'the read model on every gateway equals the cluster',
          `${gateway} shows store ${id} (${step}) no lifecycle knows`,
        );
      }
    }
  }
  return violations;
}

/** Quota's ledger (one key per owner, `owners.<digest>`, and one for the platform) holds exactly the live stores. */
async function checkQuota(
  nc: NatsConnection,
  tenants: readonly string[],
  live: ReadonlyMap<string, Lifecycle>,
  fail: (invariant: string, detail: string) => void,
): Promise<void> {
  const kv = await nc.jetstream().views.kv('quota', { bindOnly: true });
  for (const tenant of tenants) {
    const entry = await kv.get(`owners.${createHash('sha256').update(tenant).digest('hex').slice(0, 40)}`);
    const active = entry?.operation === 'PUT' ? Object.keys(entry.json<{ active?: object }>().active ?? {}) : [];
    const expected = [...live].filter(([, l]) => l.plan.tenant === tenant).map(([id]) => id);
    if (!sameSet(active, expected)) {
      fail(
        "quota's counts equal the live stores per owner",
        `${tenant}: quota holds ${active.length} (${active.join(', ')}), ${expected.length} live (${expected.join(', ')})`,
      );
    }
  }
}

/** Nothing is dead-lettered but what a rejected request explains. */
async function checkDeadLetters(
  nc: NatsConnection,
  rejected: ReadonlySet<string>,
  fail: (invariant: string, detail: string) => void,
): Promise<void> {
  const jsm = await nc.jetstreamManager();
  const info = await jsm.streams.info('DEADLETTER').catch(() => undefined);
  if (!info || info.state.messages === 0) return;
  for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
    const message = await jsm.streams.getMessage('DEADLETTER', { seq }).catch(() => undefined);
    if (!message) continue;
    const storeId = (() => {
      try {
        return String(message.json<{ storeId?: string }>().storeId ?? '');
      } catch {
        return '';
      }
    })();
    if (rejected.has(storeId)) continue;
    fail(
      'nothing in DEADLETTER but what a rejected request explains',
      `${message.subject} (store ${storeId || 'unknown'}): ${message.header?.get('Urumi-Dlq-Reason') ?? 'no reason'}`,
    );
  }
}

async function listAll(gateway: string, admin: SeededUser): Promise<{ id: string; step: string; owner: string }[]> {
  const stores: { id: string; step: string; owner: string }[] = [];
  let after: string | undefined;
  do {
    const query = new URLSearchParams({ limit: '100', ...(after ? { after } : {}) });
    const res = await fetch(`${gateway}/api/v1/stores?${query}`, {
      headers: { Authorization: `Bearer ${admin.token}` },
      signal: AbortSignal.timeout(10_000),
    });
    if (res.status !== 200) throw new Error(`${gateway} listed stores with ${res.status}: ${await res.text()}`);
    const page = (await res.json()) as { items: { id: string; step: string; owner: string }[]; next?: string };
    stores.push(...page.items);
    after = page.next;
  } while (after);
  return stores;
}

async function kubeJson<T>(sandbox: Sandbox, ...args: string[]): Promise<T> {
  return JSON.parse(await sandbox.kubectl([...args, '-o', 'json'])) as T;
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}
