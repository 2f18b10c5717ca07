import { claimTestSandbox, ownsTestSandbox, sweepAbandonedTestSandboxes } from './test-sandbox';

/**
 * Jest globalSetup for projects whose tests need Kubernetes or NATS: starts a fresh sandbox for this
 * run. With several such projects in one run, the first one starts it and the rest reuse it.
 */
export default async function globalSetup(): Promise<void> {
  if (ownsTestSandbox()) return;
  await sweepAbandonedTestSandboxes();
  await claimTestSandbox().up();
}
