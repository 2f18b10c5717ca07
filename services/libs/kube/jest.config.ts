export default {
  displayName: 'kube',
  preset: '../../../jest.preset.js',
};
