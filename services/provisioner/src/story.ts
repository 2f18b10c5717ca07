import { Step, stepSlug } from '@urumi/contracts';
import type { Store, StoreCondition, StoreNote } from '@urumi/kube';

/**
 * What a status write adds to a Store's story, as Kubernetes Events tell it (`kubectl describe store`): each step its
 * history records for the first time (a failure as a Warning, with its reason), and a Ready store turning Degraded or
 * recovering.
 */
export function notesOf(before: Store, after: Store, now = new Date()): StoreNote[] {
  const known = new Set((before.status?.history ?? []).map((entry) => entry.step));
  const notes: StoreNote[] = (after.status?.history ?? [])
    .filter((entry) => !known.has(entry.step))
    .map((entry) => ({
      type: entry.step === stepSlug(Step.FAILED) ? 'Warning' : 'Normal',
      reason: entry.reason ?? entry.step,
      message: entry.message ?? '',
      at: new Date(entry.at),
    }));
  const health = healthNote(before, after, now);
  return health ? [...notes, health] : notes;
}

/** A Ready store's Degraded condition turned (or now gives another reason): Warning while degraded, Normal after. */
function healthNote(before: Store, after: Store, at: Date): StoreNote | undefined {
  if (before.status?.phase !== 'Ready' || after.status?.phase !== 'Ready') return undefined;
  const was = condition(before, 'Degraded');
  const is = condition(after, 'Degraded');
  if (!is || (was?.status === is.status && was.reason === is.reason && was.message === is.message)) return undefined;
  if (is.status === 'True') return { type: 'Warning', reason: is.reason, message: is.message, at };
  if (was?.status !== 'True') return undefined;
  return { type: 'Normal', reason: 'Recovered', message: condition(after, 'Ready')?.message ?? '', at };
}

function condition(store: Store, type: StoreCondition['type']): StoreCondition | undefined {
  return store.status?.conditions?.find((c) => c.type === type);
}
