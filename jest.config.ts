import type { Config } from 'jest';
import { getJestProjectsAsync } from '@nx/jest';

/** Every project's tests in one run, with one summary (`npm test`). */
export default async (): Promise<Config> => ({
  projects: await getJestProjectsAsync(),
  reporters: ['default', '<rootDir>/deploy/local/summary-reporter.js'],
  // One test file at a time: the integration tests share one sandbox, whose NATS some of them stall, restart or
  // strip of a bucket, and on which one platform's provisioner and cleanup act on every Store.
  maxWorkers: 1,
});
