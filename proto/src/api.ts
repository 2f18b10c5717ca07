import type { EngineName } from './steps';

/*
 * The REST API's and the live stream's JSON, as the gateway sends it and the console reads it. The
 * gateway's OpenAPI classes implement these, so the two can't drift apart.
 */

/** Whom a token belongs to (GET /api/v1/me): tenants see their own stores, admins every store and the audit. */
export interface Me {
  /** The stable id stores are owned by (OIDC: the token's `sub`). */
  readonly name: string;
  readonly role: 'admin' | 'tenant';
  /** What to call the user (OIDC: `preferred_username`), when the identity provider gives one; else show `name`. */
  readonly displayName?: string;
}

/**
 * How an engine's stores run on this cluster: `real` containers, or `simulated` (on the sandbox, KWOK schedules
 * the pods and reports them Ready, and no container runs).
 */
export type EngineRuns = 'real' | 'simulated';

/** An engine a store can be created with (GET /api/v1/engines). */
export interface EngineView {
  readonly name: EngineName;
  readonly label: string;
  readonly runs: EngineRuns;
}

export interface StepView {
  readonly step: string;
  readonly label: string;
  readonly at: string;
  readonly reason?: string;
  readonly message?: string;
}

export interface ConditionView {
  readonly type: string;
  readonly status: string;
  readonly reason: string;
  readonly message: string;
  readonly lastTransitionTime?: string;
}

export interface StoreView {
  readonly id: string;
  readonly name: string;
  readonly engine: EngineName;
  readonly owner: string;
  /** Machine-readable step: `queued`, `approved`, …, `ready`, `failed`, `deleting`. */
  readonly step: string;
  /** The step as people read it. */
  readonly status: string;
  readonly reason?: string;
  readonly message?: string;
  readonly url: string;
  readonly namespace: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly conditions: readonly ConditionView[];
  readonly history: readonly StepView[];
}

export interface StoreList {
  readonly items: readonly StoreView[];
  /** Pass as `after` for the next page; absent on the last page. */
  readonly next?: string;
}

export interface AuditItem {
  readonly sequence: number;
  readonly at: string;
  readonly user: string;
  readonly role: string;
  readonly sourceIp: string;
  readonly action: string;
  readonly storeId: string;
  readonly storeName: string;
  readonly statusCode: number;
  readonly requestId: string;
}

export interface AuditPage {
  readonly items: readonly AuditItem[];
  /** Pass as `before` for the next (older) page; absent on the last page. */
  readonly next?: number;
}

/** What the live-status WebSocket (/api/v1/live) sends: a snapshot of the caller's stores, then changes. */
export type LiveMessage =
  | { readonly type: 'snapshot'; readonly stores: readonly StoreView[] }
  | { readonly type: 'store'; readonly store: StoreView }
  | { readonly type: 'deleted'; readonly id: string };

/** A store that failed or was refused, for the platform page's recent failures. */
export interface FailureView {
  readonly id: string;
  readonly name: string;
  readonly engine: EngineName;
  readonly owner: string;
  /** `failed` or `rejected`. */
  readonly step: string;
  readonly reason: string;
  readonly message: string;
  readonly at: string;
}

/** Stores one stage of the platform has yet to act on: queued for quota, provisioning, or being torn down. */
export interface StageView {
  readonly stage: 'quota' | 'provisioner' | 'cleanup';
  readonly stores: number;
  /** How long the oldest of them has waited (0 when none). */
  readonly oldestSeconds: number;
}

/** A durable JetStream consumer's lag, as the server counts it. */
export interface ConsumerLagView {
  readonly stream: string;
  readonly consumer: string;
  /** Messages not delivered yet. */
  readonly pending: number;
  /** Delivered, not acknowledged yet. */
  readonly ackPending: number;
  readonly redelivered: number;
}

/**
 * The platform at a glance (GET /api/v1/platform, admins): the fleet from the gateway's read model, and the event
 * bus as NATS reports it to the gateway (its own consumer's lag, the dead letters); null where NATS did not answer.
 */
export interface PlatformView {
  /** Stores by step, every step a store in the read model may be in listed (0 when none; deleted stores are gone). */
  readonly stores: Readonly<Record<string, number>>;
  /** Ready stores with a Degraded condition. */
  readonly degraded: number;
  readonly stages: readonly StageView[];
  /** The newest failures and refusals first, at most 10. */
  readonly recentFailures: readonly FailureView[];
  readonly consumers: readonly ConsumerLagView[] | null;
  readonly deadLetters: number | null;
}
