const { readFileSync } = require('node:fs');
const { join } = require('node:path');

// The workspace aliases (@urumi/*) as tsconfig.base.json maps them, so Jest resolves what tsc does.
const { paths } = JSON.parse(readFileSync(join(__dirname, 'tsconfig.base.json'), 'utf8')).compilerOptions;
const moduleNameMapper = Object.fromEntries(
  Object.entries(paths).map(([alias, [target]]) => [`^${alias}$`, join(__dirname, target)]),
);

/** Shared Jest settings: TypeScript through SWC (with decorator metadata, for NestJS), Node environment. */
module.exports = {
  moduleNameMapper,
  testEnvironment: 'node',
  transform: {
    '^.+\\.[tj]s$': [
      '@swc/jest',
      {
        jsc: {
          parser: { syntax: 'typescript', decorators: true },
          transform: { legacyDecorator: true, decoratorMetadata: true },
          target: 'es2022',
        },
        module: { type: 'commonjs' },
      },
    ],
  },
  // ESM-only packages are compiled to CommonJS like our own sources, wherever npm nested them.
  transformIgnorePatterns: [
    '/node_modules/(?!(jose|@kubernetes/client-node|openid-client|oauth4webapi|content-disposition)/)(?!.*/node_modules/)',
  ],
  moduleFileExtensions: ['ts', 'js', 'json'],
  testMatch: ['<rootDir>/**/*.spec.ts'],
};
