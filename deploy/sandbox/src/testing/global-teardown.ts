import { ownsTestSandbox, releaseTestSandbox, testSandbox } from './test-sandbox';

/** Stops the sandbox globalSetup started and removes its data (kept with URUMI_KEEP_TEST_SANDBOX=1). */
export default async function globalTeardown(): Promise<void> {
  if (!ownsTestSandbox()) return;
  const sandbox = testSandbox();
  releaseTestSandbox();
  await sandbox.down({ purge: !process.env['URUMI_KEEP_TEST_SANDBOX'] });
}
