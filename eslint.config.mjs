import nx from '@nx/eslint-plugin';
import prettier from 'eslint-config-prettier';

/**
 * Module boundaries: apps use libraries, libraries use libraries and contracts, contracts use nothing.
 * Tests may additionally use the tooling (the sandbox that starts a real cluster and NATS).
 */
const boundaries = ({ forTests }) => {
  const plus = (tags, extra) => (forTests ? [...tags, extra] : tags);
  return [
    'error',
    {
      enforceBuildableLibDependency: true,
      allow: [],
      depConstraints: [
        { sourceTag: 'type:app', onlyDependOnLibsWithTags: plus(['type:lib', 'type:contracts'], 'type:tool') },
        { sourceTag: 'type:lib', onlyDependOnLibsWithTags: plus(['type:lib', 'type:contracts'], 'type:tool') },
        { sourceTag: 'type:contracts', onlyDependOnLibsWithTags: plus(['type:contracts'], 'type:tool') },
        { sourceTag: 'type:tool', onlyDependOnLibsWithTags: ['type:tool', 'type:lib', 'type:contracts'] },
        {
          sourceTag: 'scope:frontend',
          onlyDependOnLibsWithTags: plus(['scope:frontend', 'scope:shared'], 'scope:tooling'),
        },
        // The console: the wire contracts only (its end-to-end test may also start the platform).
        { sourceTag: 'scope:console', onlyDependOnLibsWithTags: plus(['scope:shared'], 'scope:tooling') },
        {
          sourceTag: 'scope:backend',
          onlyDependOnLibsWithTags: plus(['scope:backend', 'scope:shared'], 'scope:tooling'),
        },
        { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: plus(['scope:shared'], 'scope:tooling') },
        { sourceTag: 'scope:tooling', onlyDependOnLibsWithTags: ['scope:tooling', 'scope:backend', 'scope:shared'] },
      ],
    },
  ];
};

export default [
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  ...nx.configs['flat/javascript'],
  prettier,
  {
    ignores: ['**/dist', '**/node_modules', '**/coverage', '**/.sandbox', '**/.nx', '**/.medusa', 'proto/src/gen'],
  },
  {
    files: ['**/*.ts', '**/*.js', '**/*.mjs'],
    rules: {
      '@nx/enforce-module-boundaries': boundaries({ forTests: false }),
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['**/*.spec.ts', '**/test/**/*.ts', 'frontend/e2e/**/*.ts'],
    rules: {
      '@nx/enforce-module-boundaries': boundaries({ forTests: true }),
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
];
