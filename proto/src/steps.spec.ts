import { Engine, Step } from './gen/urumi/store/v1/store_pb';
import { engineName, isTerminal, stepLabel, stepSlug } from './steps';
import { subjects } from './subjects';

describe(stepSlug.name, () => {
  it('names each step as a subject token', () => {
    expect(stepSlug(Step.QUEUED)).toBe('queued');
    expect(stepSlug(Step.NAMESPACE_READY)).toBe('namespace-ready');
    expect(subjects.status(Step.WORKLOAD_INSTALLED)).toBe('store.status.workload-installed');
  });

  it('refuses the unspecified step', () => {
    expect(() => stepSlug(Step.UNSPECIFIED)).toThrow(/no such step/);
  });
});

describe(stepLabel.name, () => {
  it('reads as a person would write it', () => {
    expect(stepLabel(Step.SECRETS_READY)).toBe('Secrets ready');
  });
});

describe(isTerminal.name, () => {
  it('knows where a store stops moving', () => {
    expect([Step.REJECTED, Step.FAILED, Step.DELETED].every(isTerminal)).toBe(true);
    expect([Step.QUEUED, Step.READY, Step.DELETING].some(isTerminal)).toBe(false);
  });
});

describe(engineName.name, () => {
  it('maps engines to their API names', () => {
    expect(engineName(Engine.WOOCOMMERCE)).toBe('woocommerce');
    expect(engineName(Engine.MEDUSA)).toBe('medusa');
    expect(() => engineName(Engine.UNSPECIFIED)).toThrow();
  });
});
