import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCjsPreset } from 'jest-preset-angular/presets';

// The workspace aliases (@urumi/contracts) as tsconfig.base.json maps them, as the root preset does.
const { paths } = JSON.parse(readFileSync(join(__dirname, '../tsconfig.base.json'), 'utf8')).compilerOptions as {
  paths: Record<string, [string]>;
};

/** The console's component and unit tests: Angular's compiler (JIT) in jsdom, zoneless as the app runs. */
export default {
  displayName: 'console',
  ...createCjsPreset({ tsconfig: '<rootDir>/tsconfig.spec.json' }),
  testEnvironment: 'jest-preset-angular/environments/jest-jsdom-env',
  moduleNameMapper: Object.fromEntries(
    Object.entries(paths).map(([alias, [target]]) => [`^${alias}$`, join(__dirname, '..', target)]),
  ),
  setupFilesAfterEnv: ['<rootDir>/src/test-setup.ts'],
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
};
