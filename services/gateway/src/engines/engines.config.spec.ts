import { ConfigError } from '@urumi/runtime';
import { enginesConfigFromEnv } from './engines.config';

describe(enginesConfigFromEnv.name, () => {
  it('simulates no engine by default: every engine runs for real, as in production', () => {
    expect(enginesConfigFromEnv({})).toEqual({ simulated: new Set() });
    expect(enginesConfigFromEnv({ SIMULATED_ENGINES: ' ' })).toEqual({ simulated: new Set() });
  });

  it('reads the simulated engines, comma-separated, with spaces around them', () => {
    expect(enginesConfigFromEnv({ SIMULATED_ENGINES: 'woocommerce' })).toEqual({
      simulated: new Set(['woocommerce']),
    });
    expect(enginesConfigFromEnv({ SIMULATED_ENGINES: ' medusa , woocommerce,' })).toEqual({
      simulated: new Set(['medusa', 'woocommerce']),
    });
  });

  it('refuses an engine it does not know, naming it and the engines there are', () => {
    const read = () => enginesConfigFromEnv({ SIMULATED_ENGINES: 'woocommerce,magento,WooCommerce' });

    expect(read).toThrow(ConfigError);
    expect(read).toThrow(
      'SIMULATED_ENGINES names no such engine: "magento", "WooCommerce"; the engines are woocommerce, medusa',
    );
  });
});
