import { EngineName, engineLabels, engineNames, Step } from '@urumi/contracts';
import type { StoreView } from '../core/api.types';

const ADMIN_PATHS: Readonly<Record<EngineName, string>> = { woocommerce: '/wp-admin/', medusa: '/app' };

export type Tone = 'pending' | 'progress' | 'success' | 'danger' | 'warning';

const tones: Readonly<Record<string, Tone>> = {
  queued: 'pending',
  approved: 'progress',
  'namespace-ready': 'progress',
  'secrets-ready': 'progress',
  'workload-installed': 'progress',
  ready: 'success',
  rejected: 'danger',
  failed: 'danger',
  deleting: 'warning',
  degraded: 'warning',
};

/** How a step looks: grey while waiting, blue while provisioning, green when Ready, red when it ended badly. */
export function toneOf(step: string): Tone {
  return tones[step] ?? 'pending';
}

/** How a store's status shows: its step, or Degraded for a Ready store that lost part of its workload. */
export interface ShownStatus {
  /** A step, or `degraded`. */
  readonly state: string;
  readonly label: string;
  /** Why, when that needs saying: a rejection's, a failure's or a degradation's message. */
  readonly reason?: string;
}

export function statusOf(store: StoreView): ShownStatus {
  const degraded = store.conditions.find((c) => c.type === 'Degraded' && c.status === 'True');
  if (store.step === 'ready' && degraded) {
    return { state: 'degraded', label: 'Degraded', reason: degraded.message || degraded.reason };
  }
  const failed = store.step === 'rejected' || store.step === 'failed';
  return { state: store.step, label: store.status, ...(failed && store.message ? { reason: store.message } : {}) };
}

/**
 * Every step a listed store can be in, in the order a store goes through them (for the status filter),
 * named as the API names them: `NAMESPACE_READY` → `namespace-ready` / `Namespace ready`. Read from the
 * enum's own names rather than through contracts' stepSlug, whose protobuf reflection would add 55 kB.
 */
export const STEPS: readonly { readonly slug: string; readonly label: string }[] = Object.values(Step)
  .filter((s): s is Step => typeof s === 'number' && s !== Step.UNSPECIFIED && s !== Step.DELETED)
  .map((s) => {
    const words = Step[s].toLowerCase().split('_');
    const label = words.join(' ');
    return { slug: words.join('-'), label: label.charAt(0).toUpperCase() + label.slice(1) };
  });

export const ENGINES: readonly { readonly name: EngineName; readonly label: string }[] = (
  Object.keys(engineNames) as EngineName[]
).map((name) => ({ name, label: engineLabels[name] }));

export function engineLabel(engine: EngineName): string {
  return engineLabels[engine] ?? engine;
}

/** Where a store's admin lives, by engine. */
export function adminUrlOf(engine: EngineName, url: string): string {
  return `${url.replace(/\/$/, '')}${ADMIN_PATHS[engine]}`;
}
