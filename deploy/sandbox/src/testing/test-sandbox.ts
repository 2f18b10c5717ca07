import { testStateDir } from '../paths';
import { Sandbox } from '../sandbox';

/** The sandbox the test command starts once per run (free ports, state under .sandbox/test). */
export function testSandbox(): Sandbox {
  return new Sandbox({ stateDir: testStateDir });
}
