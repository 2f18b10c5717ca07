import { Engine, Step, StepSchema } from './gen/urumi/store/v1/store_pb';

const terminalSteps: ReadonlySet<Step> = new Set([Step.REJECTED, Step.FAILED, Step.DELETED]);

/** `Step.NAMESPACE_READY` → `namespace-ready`. */
export function stepSlug(step: Step): string {
  const value = StepSchema.values.find((v) => v.number === step);
  if (!value || step === Step.UNSPECIFIED) throw new Error(`no such step: ${step}`);
  return value.localName.toLowerCase().replace(/_/g, '-');
}

/** `Step.NAMESPACE_READY` → `Namespace ready`, as people read it. */
export function stepLabel(step: Step): string {
  const slug = stepSlug(step).replace(/-/g, ' ');
  return slug.charAt(0).toUpperCase() + slug.slice(1);
}

export function isTerminal(step: Step): boolean {
  return terminalSteps.has(step);
}

export const engineNames = { woocommerce: Engine.WOOCOMMERCE, medusa: Engine.MEDUSA } as const;
export type EngineName = keyof typeof engineNames;

/** Each engine as people read its name. */
export const engineLabels: Readonly<Record<EngineName, string>> = { woocommerce: 'WooCommerce', medusa: 'MedusaJS' };

export function engineName(engine: Engine): EngineName {
  const found = (Object.keys(engineNames) as EngineName[]).find((name) => engineNames[name] === engine);
  if (!found) throw new Error(`no such engine: ${engine}`);
  return found;
}
