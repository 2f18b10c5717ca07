import { EngineName } from '@urumi/contracts';
import { EnginesService } from './engines.service';

describe(EnginesService.name, () => {
  const serviceSimulating = (...simulated: EngineName[]) => new EnginesService({ simulated: new Set(simulated) });

  it('says every engine runs for real when none is simulated', () => {
    const sut = serviceSimulating();

    expect(sut.list()).toEqual([
      { name: 'woocommerce', label: 'WooCommerce', runs: 'real' },
      { name: 'medusa', label: 'MedusaJS', runs: 'real' },
    ]);
  });

  it('says which engines are only simulated, in the same order', () => {
    const sut = serviceSimulating('woocommerce');

    expect(sut.list()).toEqual([
      { name: 'woocommerce', label: 'WooCommerce', runs: 'simulated' },
      { name: 'medusa', label: 'MedusaJS', runs: 'real' },
    ]);
  });
});
