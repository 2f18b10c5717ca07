/* The gateway's JSON: one definition, in the contracts (proto/src/api.ts), shared with the gateway. */
export type {
  AuditItem,
  AuditPage,
  ConditionView,
  LiveMessage,
  StepView,
  StoreList,
  StoreView,
} from '@urumi/contracts';

export type Role = 'admin' | 'tenant';
