import { testSandbox } from './test-sandbox';

/**
 * Jest globalSetup for projects whose tests need Kubernetes or NATS: starts a fresh test sandbox.
 * With several such projects in one run, the first one starts it and the rest reuse it.
 */
export default async function globalSetup(): Promise<void> {
  if (process.env['URUMI_TEST_SANDBOX_OWNER']) return;
  const sandbox = testSandbox();
  await sandbox.down({ purge: true });
  await sandbox.up();
  process.env['URUMI_TEST_SANDBOX_OWNER'] = String(process.pid);
}
