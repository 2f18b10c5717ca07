export default {
  displayName: 'charts',
  preset: '../jest.preset.js',
  testMatch: ['<rootDir>/test/**/*.spec.ts'],
  // The engine charts are installed into a real (KWOK-backed) sandbox cluster.
  globalSetup: '<rootDir>/../deploy/sandbox/src/testing/global-setup.ts',
  globalTeardown: '<rootDir>/../deploy/sandbox/src/testing/global-teardown.ts',
};
