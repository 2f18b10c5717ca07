export default {
  displayName: 'store-subscriber',
  preset: '../../jest.preset.js',
  // Runs against the platform's own NATS (the chart's nats.conf), started in the sandbox.
  globalSetup: '<rootDir>/../../deploy/sandbox/src/testing/global-setup.ts',
  globalTeardown: '<rootDir>/../../deploy/sandbox/src/testing/global-teardown.ts',
};
