import { Step, subjects } from '@urumi/contracts';

/** The subjects quota reads and writes. A prefix keeps a test's traffic apart from everyone else's. */
export interface QuotaSubjects {
  readonly createStore: string;
  readonly deleted: string;
  readonly decision: (step: Step.APPROVED | Step.REJECTED) => string;
}

export function quotaSubjects(prefix = ''): QuotaSubjects {
  return {
    createStore: `${prefix}${subjects.createStore}`,
    deleted: `${prefix}${subjects.status(Step.DELETED)}`,
    decision: (step) => `${prefix}${subjects.status(step)}`,
  };
}
