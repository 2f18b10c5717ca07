import { transformFile, type Options } from '@swc/core';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, rename, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { repoRoot } from './paths';

/** Where the compiled services land, mirroring the repository layout (dist/services/gateway/src/main.js). */
export const distRoot = join(repoRoot, 'dist');

/** The compiled entry point of a service, as its container image and the local runner start it. */
export function serviceEntry(service: string): string {
  return join(distRoot, 'services', service, 'src', 'main.js');
}

interface TsConfig {
  readonly compilerOptions: { readonly paths: Record<string, [string]> };
}

/**
 * Compiles every service and the libraries they import (the tsconfig path aliases, except tooling)
 * from TypeScript to CommonJS with SWC: decorator metadata for NestJS, aliases rewritten to relative
 * requires, source maps beside each file. Type checking is the `typecheck` targets' job, not this one's.
 * Only sources newer than their output are compiled, and each file is written atomically, so concurrent
 * callers (parallel test files) are safe.
 */
export async function compileServices(): Promise<{ compiled: number; total: number }> {
  const { paths } = (JSON.parse(readFileSync(join(repoRoot, 'tsconfig.base.json'), 'utf8')) as TsConfig)
    .compilerOptions;
  const libraries = Object.entries(paths)
    .filter(([alias]) => alias !== '@urumi/sandbox')
    .map(([, [target]]) => dirname(join(repoRoot, target)));
  const services = (await readdir(join(repoRoot, 'services'), { withFileTypes: true }))
    .filter((entry) => entry.isDirectory() && entry.name !== 'libs')
    .map((entry) => join(repoRoot, 'services', entry.name, 'src'))
    .filter((dir) => existsSync(dir));
  const sources = (await Promise.all([...libraries, ...services].map(sourcesUnder))).flat();
  const results = await Promise.all(sources.map((source) => compileFile(source, paths)));
  return { compiled: results.filter((r) => r.compiled).length, total: sources.length };
}

/** Compiles one TypeScript file to its place under dist/, unless its output is already newer. */
export async function compileFile(
  source: string,
  paths: Record<string, [string]> = {},
): Promise<{ target: string; compiled: boolean }> {
  const target = join(distRoot, relative(repoRoot, source)).replace(/\.ts$/, '.js');
  if (await isNewer(target, source)) return { target, compiled: false };
  const { code, map } = await transformFile(source, { ...swcOptions(paths), sourceFileName: source });
  await mkdir(dirname(target), { recursive: true });
  await writeAtomically(`${target}.map`, map ?? '');
  await writeAtomically(target, `${code}\n//# sourceMappingURL=${basename(target)}.map\n`);
  return { target, compiled: true };
}

function swcOptions(paths: Record<string, [string]>): Options {
  return {
    swcrc: false,
    sourceMaps: true,
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2022',
      baseUrl: repoRoot,
      paths,
      keepClassNames: true,
    },
    module: { type: 'commonjs' },
  };
}

async function sourcesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.spec.ts') && !e.name.endsWith('.d.ts'))
    .map((e) => join(e.parentPath, e.name));
}

async function isNewer(target: string, source: string): Promise<boolean> {
  try {
    return (await stat(target)).mtimeMs >= (await stat(source)).mtimeMs;
  } catch {
    return false;
  }
}

async function writeAtomically(path: string, content: string): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, content);
  await rename(temporary, path);
}
