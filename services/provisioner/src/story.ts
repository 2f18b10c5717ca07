import { Step, stepSlug } from '@urumi/contracts';
import type { Store, StoreHistoryEntry, StoreNote } from '@urumi/kube';
import { healthChange, isDegraded } from './health';

/** The steps `after`'s history records that `before`'s did not, each with the step before it. */
export function newlyRecorded(
  before: Store,
  after: Store,
): { entry: StoreHistoryEntry; previous?: StoreHistoryEntry }[] {
  const known = new Set((before.status?.history ?? []).map((entry) => entry.step));
  const history = after.status?.history ?? [];
  return history.flatMap((entry, index) => (known.has(entry.step) ? [] : [{ entry, previous: history[index - 1] }]));
}

/**
 * What a status write adds to a Store's story, as Kubernetes Events tell it (`kubectl describe store`): each step its
 * history records for the first time (a failure as a Warning, with its reason), and a Ready store turning Degraded or
 * recovering.
 */
export function notesOf(before: Store, after: Store, now = new Date()): StoreNote[] {
  const notes: StoreNote[] = newlyRecorded(before, after).map(({ entry }) => ({
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
  if (before.status?.phase !== 'Ready' || after.status?.phase !== 'Ready' || !healthChange(before, after)) {
    return undefined;
  }
  const condition = (type: string) => after.status?.conditions?.find((c) => c.type === type);
  const degraded = condition('Degraded');
  if (degraded && isDegraded(after)) return { type: 'Warning', reason: degraded.reason, message: degraded.message, at };
  if (!isDegraded(before)) return undefined;
  return { type: 'Normal', reason: 'Recovered', message: condition('Ready')?.message ?? '', at };
}
