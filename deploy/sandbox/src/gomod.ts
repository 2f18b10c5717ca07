/**
 * Pure helpers that turn a Go module's go.mod into a wrapper module we can build.
 *
 * `go install module/cmd@version` refuses modules whose go.mod has replace directives
 * (k8s.io/kubernetes replaces every staging module with ./staging/src/...). A wrapper
 * module requires the target instead; replaces of a dependency are ignored there, so the
 * wrapper only has to replace what the target requires at an unpublished placeholder
 * version (k8s.io/api v0.0.0 and friends) with the published release.
 */

export interface ModRequirement {
  readonly path: string;
  readonly version: string;
}

export interface ModReplace {
  readonly path: string;
  readonly target: string;
}

export interface ParsedGoMod {
  readonly module: string;
  readonly requires: readonly ModRequirement[];
  readonly replaces: readonly ModReplace[];
}

const PLACEHOLDER_VERSION = /^v0\.0\.0(-00010101000000-000000000000)?$/;

/** Reads module, require and replace directives, in both single-line and block form. */
export function parseGoMod(text: string): ParsedGoMod {
  let module = '';
  const requires: ModRequirement[] = [];
  const replaces: ModReplace[] = [];
  let block: 'require' | 'replace' | undefined;

  for (const rawLine of text.split('\n')) {
    const line = rawLine.replace(/\/\/.*$/, '').trim();
    if (!line) continue;
    if (block && line === ')') {
      block = undefined;
      continue;
    }
    const blockStart = /^(require|replace)\s*\($/.exec(line);
    if (blockStart) {
      block = blockStart[1] as 'require' | 'replace';
      continue;
    }
    const single = /^(module|require|replace)\s+(.*)$/.exec(line);
    const directive = block ?? single?.[1];
    const body = (block ? line : single?.[2]) ?? '';
    if (directive === 'module') {
      module = body.trim();
    } else if (directive === 'require') {
      const [path, version] = body.split(/\s+/);
      if (path && version) requires.push({ path, version });
    } else if (directive === 'replace') {
      const [left, right] = body.split('=>').map((side) => side.trim());
      const path = left?.split(/\s+/)[0];
      if (path && right) replaces.push({ path, target: right });
    }
  }
  if (!module) throw new Error('go.mod has no module directive');
  return { module, requires, replaces };
}

/**
 * The replaces a wrapper module needs: every module the target replaces with a local
 * directory while requiring it at a placeholder version, pinned to `releaseVersionOf(path)`.
 */
export function wrapperReplaces(
  target: ParsedGoMod,
  releaseVersionOf: (modulePath: string) => string,
): ModRequirement[] {
  const required = new Map(target.requires.map((r) => [r.path, r.version]));
  return target.replaces
    .filter((r) => r.target.startsWith('./') || r.target.startsWith('../'))
    .filter((r) => PLACEHOLDER_VERSION.test(required.get(r.path) ?? ''))
    .map((r) => ({ path: r.path, version: releaseVersionOf(r.path) }))
    .sort((a, b) => a.path.localeCompare(b.path));
}

export interface WrapperModule {
  readonly name: string;
  readonly goVersion: string;
  readonly require: ModRequirement;
  readonly replaces: readonly ModRequirement[];
  /** Main packages to build; recorded in tools.go so `go mod tidy` keeps their dependencies. */
  readonly packages: readonly string[];
}

export function renderGoMod(wrapper: WrapperModule): string {
  const lines = [
    `module ${wrapper.name}`,
    '',
    `go ${wrapper.goVersion}`,
    '',
    `require ${wrapper.require.path} ${wrapper.require.version}`,
  ];
  if (wrapper.replaces.length > 0) {
    lines.push('', 'replace (');
    for (const r of wrapper.replaces) lines.push(`\t${r.path} => ${r.path} ${r.version}`);
    lines.push(')');
  }
  return lines.join('\n') + '\n';
}

export function renderToolsGo(wrapper: WrapperModule): string {
  return [
    '//go:build tools',
    '',
    'package tools',
    '',
    'import (',
    ...wrapper.packages.map((p) => `\t_ "${p}"`),
    ')',
    '',
  ].join('\n');
}

/** `-X` flags that set string variables at link time, in a stable order. */
export function linkerVariables(vars: Readonly<Record<string, string>>): string[] {
  return Object.entries(vars)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, value]) => `-X ${name}=${value}`);
}

/** `v1.36.3` → `{ major: '1', minor: '36' }`. */
export function semverParts(version: string): { major: string; minor: string; patch: string } {
  const [, major, minor, patch] = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version) ?? [];
  if (!major || !minor || !patch) throw new Error(`not a semantic version: ${version}`);
  return { major, minor, patch };
}

/** The file name `go build -o dir/` gives a main package: its last path element, skipping a /vN suffix. */
export function goBinaryName(packagePath: string): string {
  const [last = '', previous] = packagePath.split('/').reverse();
  return /^v\d+$/.test(last) && previous ? previous : last;
}
