import { testSandbox } from './test-sandbox';

/** Stops the test sandbox started by globalSetup and leaves no process behind. */
export default async function globalTeardown(): Promise<void> {
  if (process.env['URUMI_TEST_SANDBOX_OWNER'] !== String(process.pid)) return;
  delete process.env['URUMI_TEST_SANDBOX_OWNER'];
  await testSandbox().down({ purge: !process.env['URUMI_KEEP_TEST_SANDBOX'] });
}
