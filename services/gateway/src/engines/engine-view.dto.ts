import { ApiProperty } from '@nestjs/swagger';
import { EngineName, engineNames } from '@urumi/contracts';
import type * as api from '@urumi/contracts';

const RUNS: readonly api.EngineRuns[] = ['real', 'simulated'];

export class EngineView implements api.EngineView {
  @ApiProperty({ enum: Object.keys(engineNames), example: 'medusa', description: 'what POST /api/v1/stores takes' })
  name!: EngineName;

  @ApiProperty({ example: 'MedusaJS', description: 'the name as people read it' })
  label!: string;

  @ApiProperty({
    enum: RUNS,
    example: 'real',
    description:
      "`real`: the store's containers run on this cluster. `simulated`: its pods are scheduled and reported " +
      'Ready, but no container runs (a sandbox that cannot build the engine; never in production)',
  })
  runs!: api.EngineRuns;
}
