import type { Config } from 'jest';
import { getJestProjectsAsync } from '@nx/jest';

/** Every project's tests in one run, with one summary (`npm test`). */
export default async (): Promise<Config> => ({
  projects: await getJestProjectsAsync(),
  reporters: ['default', '<rootDir>/deploy/local/summary-reporter.js'],
});
