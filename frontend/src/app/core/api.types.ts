import type { EngineName } from '@urumi/contracts';

/*
 * The gateway's JSON, as it sends it (services/gateway/src/stores/store.view.ts and
 * services/gateway/src/audit/audit.service.ts). The gateway declares them as Swagger DTO classes in an
 * app the console may not import, so the console keeps these read-only mirrors next to its API client.
 */

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
  readonly next?: number;
}

/** What the live-status WebSocket sends (services/gateway/src/live/live-status.server.ts). */
export type LiveMessage =
  | { readonly type: 'snapshot'; readonly stores: readonly StoreView[] }
  | { readonly type: 'store'; readonly store: StoreView }
  | { readonly type: 'deleted'; readonly id: string };

export type Role = 'admin' | 'tenant';
