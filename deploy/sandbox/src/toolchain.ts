import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { components, GoComponent } from './components';
import { exec } from './exec';
import { FileLock } from './file-lock';
import { goBinaryName, linkerVariables, parseGoMod, renderGoMod, renderToolsGo, wrapperReplaces } from './gomod';
import { formatDuration, log, withHeartbeat } from './log';
import { cacheRoot, repoRoot } from './paths';

const MINIMUM_GO = { major: 1, minor: 26 };

/** Absolute paths of every binary and asset the sandbox runs. */
export interface Toolchain {
  readonly bin: Readonly<Record<string, string>>;
  /** KWOK stage configs (node and pod lifecycles). */
  readonly kwokStages: readonly string[];
}

/** The path of one built binary; a missing one means the cache and the recipe disagree. */
export function binaryOf(toolchain: Toolchain, name: string): string {
  const path = toolchain.bin[name];
  if (!path) throw new Error(`the sandbox toolchain has no ${name}: run \`npm run sandbox -- build\``);
  return path;
}

interface ModuleDownload {
  readonly GoMod: string;
  readonly Info: string;
  readonly Dir: string;
}

function goEnv(): NodeJS.ProcessEnv {
  return { ...process.env, CGO_ENABLED: '0', GOTOOLCHAIN: 'local', GOFLAGS: '-buildvcs=false' };
}

async function checkGo(): Promise<string> {
  let output: string;
  try {
    output = (await exec('go', ['env', 'GOVERSION'])).stdout.trim();
  } catch {
    throw new Error('Go is required to build the sandbox (go ≥ 1.26): install it and make sure `go` is on PATH.');
  }
  const [major = 0, minor = 0] = output.replace(/^go/, '').split('.').map(Number);
  if (major < MINIMUM_GO.major || (major === MINIMUM_GO.major && minor < MINIMUM_GO.minor)) {
    throw new Error(
      `the sandbox needs Go ≥ ${MINIMUM_GO.major}.${MINIMUM_GO.minor}, found ${output}; install a newer Go.`,
    );
  }
  return output;
}

async function download(module: string, version: string): Promise<ModuleDownload> {
  const { stdout } = await exec('go', ['mod', 'download', '-json', `${module}@${version}`], { env: goEnv() });
  return JSON.parse(stdout) as ModuleDownload;
}

/** The Go sources of a main package kept in this repository, by file name. */
async function mainSources(dir: string): Promise<Record<string, string>> {
  const names = (await readdir(join(repoRoot, dir))).filter((n) => n.endsWith('.go') && !n.endsWith('_test.go')).sort();
  if (names.length === 0) throw new Error(`${dir} has no Go sources`);
  return Object.fromEntries(
    await Promise.all(names.map(async (n) => [n, await readFile(join(repoRoot, dir, n), 'utf8')])),
  );
}

function installDir(component: GoComponent, recipeHash: string): string {
  return join(cacheRoot(), `${component.name}-${component.version}-${recipeHash}`);
}

async function buildComponent(component: GoComponent, goVersion: string): Promise<string> {
  const target = await download(component.module, component.version);
  const mod = parseGoMod(await readFile(target.GoMod, 'utf8'));
  const releasedAt = (JSON.parse(await readFile(target.Info, 'utf8')) as { Time: string }).Time;
  const ldflags = ['-s', '-w', ...linkerVariables(component.linkerVariables(mod, releasedAt))].join(' ');
  const replaces = component.releaseVersionOf ? wrapperReplaces(mod, component.releaseVersionOf) : [];
  const sources = component.main ? await mainSources(component.main) : undefined;
  const recipe = JSON.stringify({
    goVersion,
    ldflags,
    replaces,
    binaries: component.binaries,
    assets: component.assets,
    inModule: component.inModule,
    // Editing a main kept in the repository rebuilds it.
    main: sources && createHash('sha256').update(JSON.stringify(sources)).digest('hex'),
  });
  const dir = installDir(component, createHash('sha256').update(recipe).digest('hex').slice(0, 12));
  if (existsSync(join(dir, 'recipe.json'))) return dir;
  // Two test runs starting on a cold cache build each component once, not side by side in one work folder.
  return FileLock.around(`${dir}.lock`, `building ${component.name} ${component.version}`, log.step, async () => {
    if (!existsSync(join(dir, 'recipe.json')))
      await build(component, target, { ldflags, sources, recipe, replaces, dir });
    return dir;
  });
}

interface BuildPlan {
  readonly ldflags: string;
  readonly sources: Record<string, string> | undefined;
  readonly recipe: string;
  readonly replaces: ReturnType<typeof wrapperReplaces>;
  readonly dir: string;
}

async function build(component: GoComponent, target: ModuleDownload, plan: BuildPlan): Promise<void> {
  const { ldflags, sources, recipe, replaces, dir } = plan;
  const names = Object.keys(component.binaries);
  log.step(`building ${component.name} ${component.version} (${names.join(', ')}) from Go modules — once per version`);
  const started = Date.now();
  const wrapper = {
    name: `urumi.local/sandbox/${component.name}`,
    goVersion: '1.26',
    require: { path: component.module, version: component.version },
    replaces,
    packages: Object.values(component.binaries),
  };
  const workDir = join(cacheRoot(), 'src', `${component.name}-${component.version}`);
  await rm(workDir, { recursive: true, force: true });
  await mkdir(workDir, { recursive: true });
  if (component.inModule) {
    // The module's own go.mod and go.sum, complete as released: nothing to resolve.
    await exec('cp', ['-R', `${target.Dir}/.`, workDir]);
    await exec('chmod', ['-R', 'u+w', workDir]);
  } else {
    await writeFile(join(workDir, 'go.mod'), renderGoMod(wrapper));
    if (sources) {
      for (const [name, text] of Object.entries(sources)) await writeFile(join(workDir, name), text);
    } else {
      await writeFile(join(workDir, 'tools.go'), renderToolsGo(wrapper));
    }
    let downloads = 0;
    await withHeartbeat(
      `  resolving ${component.name} dependencies`,
      exec('go', ['mod', 'tidy'], {
        cwd: workDir,
        env: goEnv(),
        onStderrLine: (line) => {
          if (line.startsWith('go: downloading')) downloads += 1;
        },
      }),
    );
    if (downloads > 0) log.step(`  downloaded ${downloads} modules`);
  }

  const staging = `${dir}.partial`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(join(staging, 'bin'), { recursive: true });
  await withHeartbeat(
    `  compiling ${component.name}`,
    exec('go', ['build', '-trimpath', '-ldflags', ldflags, '-o', join(staging, 'bin') + '/', ...wrapper.packages], {
      cwd: workDir,
      env: goEnv(),
    }),
  );
  for (const [name, pkg] of Object.entries(component.binaries)) {
    if (goBinaryName(pkg) !== name) await rename(join(staging, 'bin', goBinaryName(pkg)), join(staging, 'bin', name));
  }
  if (component.assets?.length) {
    await mkdir(join(staging, 'assets'), { recursive: true });
    for (const asset of component.assets)
      await copyFile(join(target.Dir, asset), join(staging, 'assets', basename(asset)));
  }
  await writeFile(join(staging, 'recipe.json'), recipe + '\n');
  await rm(dir, { recursive: true, force: true });
  await rename(staging, dir);
  await rm(workDir, { recursive: true, force: true });
  log.step(`  built ${component.name} in ${formatDuration(Date.now() - started)}`);
}

/** Builds whatever is missing from the cache (minutes the first time, a second afterwards). */
export async function ensureToolchain(): Promise<Toolchain> {
  const goVersion = await checkGo();
  const bin: Record<string, string> = {};
  const kwokStages: string[] = [];
  for (const component of components) {
    const dir = await buildComponent(component, goVersion);
    for (const name of Object.keys(component.binaries)) bin[name] = join(dir, 'bin', name);
    for (const asset of component.assets ?? []) kwokStages.push(join(dir, 'assets', basename(asset)));
  }
  return { bin, kwokStages };
}
