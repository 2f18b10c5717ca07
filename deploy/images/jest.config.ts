export default {
  displayName: 'images',
  preset: '../../jest.preset.js',
  testMatch: ['<rootDir>/test/**/*.spec.ts'],
};
