/* The gateway's JSON: one definition, in the contracts (proto/src/api.ts), shared with the gateway. */
import type { Me } from '@urumi/contracts';

export type {
  AuditItem,
  AuditPage,
  ConditionView,
  LiveMessage,
  Me,
  PlatformView,
  StepView,
  StoreList,
  StoreView,
} from '@urumi/contracts';

export type Role = Me['role'];
