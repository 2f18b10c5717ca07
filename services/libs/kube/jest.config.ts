export default {
  displayName: 'kube',
  preset: '../../../jest.preset.js',
  testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/**/*.spec.ts'],
  globalSetup: '<rootDir>/../../../deploy/sandbox/src/testing/global-setup.ts',
  globalTeardown: '<rootDir>/../../../deploy/sandbox/src/testing/global-teardown.ts',
};
