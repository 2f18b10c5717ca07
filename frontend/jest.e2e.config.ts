/** The console end to end: the built console in headless Chromium against the real platform and sandbox. */
export default {
  displayName: 'console-e2e',
  preset: '../jest.preset.js',
  testMatch: ['<rootDir>/e2e/**/*.spec.ts'],
  globalSetup: '<rootDir>/../deploy/sandbox/src/testing/global-setup.ts',
  globalTeardown: '<rootDir>/../deploy/sandbox/src/testing/global-teardown.ts',
};
