import { Inject, Injectable } from '@nestjs/common';
import { EngineName, engineLabels, engineNames } from '@urumi/contracts';
import { EngineView } from './engine-view.dto';
import { ENGINES_CONFIG, EnginesConfig } from './engines.config';

/** The engines a store can be created with, and whether each runs for real on this cluster. */
@Injectable()
export class EnginesService {
  private readonly engines: readonly EngineView[];

  constructor(@Inject(ENGINES_CONFIG) config: EnginesConfig) {
    // In the registry's order, so the list reads the same whatever runs.
    this.engines = (Object.keys(engineNames) as EngineName[]).map((name) => ({
      name,
      label: engineLabels[name],
      runs: config.simulated.has(name) ? 'simulated' : 'real',
    }));
  }

  list(): readonly EngineView[] {
    return this.engines;
  }
}
