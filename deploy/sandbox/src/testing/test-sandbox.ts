import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testStateRoot } from '../paths';
import { Sandbox } from '../sandbox';

const DIR_VARIABLE = 'URUMI_TEST_SANDBOX_DIR';

/**
 * The sandbox this Jest run's globalSetup started. Each run has its own state folder
 * (.sandbox/test/<pid of the Jest process>), so concurrent runs never share or stop each other's.
 */
export function testSandbox(): Sandbox {
  const stateDir = process.env[DIR_VARIABLE];
  if (!stateDir) {
    throw new Error("no test sandbox: add the sandbox globalSetup/globalTeardown to this project's jest.config.ts");
  }
  return new Sandbox({ stateDir });
}

/**
 * Where a test's temporary servers keep their files: inside this run's sandbox folder when there is one (its
 * teardown, or a later run's sweep, stops what a dead test left running there), else the system's temporary folder.
 */
export function scratchRoot(): string {
  return process.env[DIR_VARIABLE] ?? tmpdir();
}

export function claimTestSandbox(): Sandbox {
  const stateDir = join(testStateRoot, String(process.pid));
  process.env[DIR_VARIABLE] = stateDir;
  return new Sandbox({ stateDir });
}

export function releaseTestSandbox(): void {
  delete process.env[DIR_VARIABLE];
}

export function ownsTestSandbox(): boolean {
  return process.env[DIR_VARIABLE] === join(testStateRoot, String(process.pid));
}

/** Stops and removes sandboxes left by Jest runs that died before their teardown. */
export async function sweepAbandonedTestSandboxes(): Promise<void> {
  if (!existsSync(testStateRoot)) return;
  for (const entry of await readdir(testStateRoot)) {
    if (/^\d+$/.test(entry) && existsSync(`/proc/${entry}`)) continue;
    await new Sandbox({ stateDir: join(testStateRoot, entry) }).down({ purge: true });
  }
}
