export default {
  displayName: 'store-medusa',
  preset: '../../../jest.preset.js',
  // Only the test folder: the app's own node_modules and build output (.medusa) are not Jest's business.
  roots: ['<rootDir>/test'],
  testMatch: ['<rootDir>/test/**/*.spec.ts'],
};
