import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { ensureToolchain } from '@urumi/sandbox';

const repoRoot = resolve(__dirname, '../../..');
const NOT_SOURCES = new Set(['node_modules', 'dist', 'coverage', '.git', '.nx', '.sandbox', '.medusa', '.angular']);

/** Every file under the repository that `name` accepts, repository-relative. */
function filesNamed(accept: (name: string) => boolean, dir = repoRoot): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.isDirectory()) return NOT_SOURCES.has(entry.name) ? [] : filesNamed(accept, join(dir, entry.name));
    return entry.isFile() && accept(entry.name) ? [relative(repoRoot, join(dir, entry.name))] : [];
  });
}

const isDockerfile = (name: string) =>
  name === 'Dockerfile' ||
  name.endsWith('.Dockerfile') ||
  (name.startsWith('Dockerfile.') && !name.endsWith('.dockerignore'));

interface ImageBuild {
  readonly dockerfile: string;
  readonly target?: string;
}

/** The Dockerfile and target of one `docker build` command line, run from the repository root. */
function parseDockerBuild(line: string): ImageBuild {
  const words = line.replace(/^.*?docker build\s+/, '').split(/\s+/);
  const flags: Record<string, string> = {};
  let context = '.';
  for (let i = 0; i < words.length; i++) {
    const word = (words[i] ?? '').replace(/^"|"$/g, '');
    if (word.startsWith('>')) break;
    if (word.startsWith('-')) flags[word] = (words[++i] ?? '').replace(/^"|"$/g, '');
    else context = word;
  }
  return { dockerfile: flags['-f'] ?? flags['--file'] ?? join(context, 'Dockerfile'), target: flags['--target'] };
}

/** The images the Nx `docker-build` targets build. */
function nxBuilds(): ImageBuild[] {
  return filesNamed((name) => name === 'project.json').flatMap((project) => {
    const { targets = {} } = JSON.parse(readFileSync(join(repoRoot, project), 'utf8')) as {
      targets?: Record<string, { options?: { command?: string } }>;
    };
    return Object.values(targets)
      .map((t) => t.options?.command ?? '')
      .filter((command) => command.includes('docker build'))
      .map(parseDockerBuild);
  });
}

/** The images deploy/images/build.sh builds: its `docker build` lines inside `for <var> in <words>; do … done`. */
function scriptBuilds(): ImageBuild[] {
  const script = readFileSync(join(repoRoot, 'deploy/images/build.sh'), 'utf8');
  return [...script.matchAll(/^for (\w+) in ([^;\n]+); do\n([\s\S]*?)^done$/gm)].flatMap(([, variable, words, body]) =>
    (words ?? '')
      .trim()
      .split(/\s+/)
      .flatMap((word) =>
        (body ?? '')
          .split('\n')
          .filter((line) => line.includes('docker build'))
          .map((line) => parseDockerBuild(line.replaceAll(`$${variable}`, word).replaceAll(`\${${variable}}`, word))),
      ),
  );
}

interface Problem {
  readonly line: number;
  readonly rule: string;
}

describe('dockerfile-check', () => {
  const dockerfiles = filesNamed(isDockerfile).sort();
  const builds = [...nxBuilds(), ...scriptBuilds()];
  let checker: string;

  beforeAll(async () => {
    const built = (await ensureToolchain()).bin['dockerfile-check'];
    if (!built) throw new Error('the sandbox toolchain has no dockerfile-check');
    checker = built;
  }, 600_000);

  function check(cwd: string, ...args: string[]): { status: number | null; output: string[] } {
    const { status, stdout, stderr } = spawnSync(checker, args, { cwd, encoding: 'utf8' });
    return { status, output: [...stdout.split('\n'), ...stderr.split('\n')].filter(Boolean) };
  }

  it('finds the Dockerfiles and every image the build script and the Nx targets build from them', () => {
    expect(dockerfiles).toEqual(
      expect.arrayContaining([
        'deploy/images/Dockerfile',
        'deploy/engines/medusa/Dockerfile',
        'deploy/engines/woocommerce/Dockerfile',
      ]),
    );
    expect(scriptBuilds().length).toBeGreaterThanOrEqual(6);
    expect(nxBuilds().length).toBeGreaterThanOrEqual(4);
    expect(dockerfiles).toEqual(expect.arrayContaining(builds.map((b) => b.dockerfile)));
  });

  it.each(dockerfiles)('%s passes BuildKit’s checks for every target it is built with', (dockerfile) => {
    const targets = new Set(builds.flatMap((b) => (b.dockerfile === dockerfile && b.target ? [b.target] : [])));
    const args = [...targets].flatMap((target) => ['--target', target]);

    expect(check(repoRoot, dockerfile, ...args)).toEqual({ status: 0, output: [] });
  });

  it('reports each broken rule of a Dockerfile on its line, and a target that is not a stage', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dockerfile-check-'));
    try {
      writeFileSync(
        join(dir, 'Dockerfile'),
        [
          'FROM docker.io/library/alpine:3.22 as base',
          'RUN echo hello > /greeting',
          'FROM base AS final',
          'COPY --from=biuld /greeting /greeting',
          'ENV GREETING_FILE=$GREETING_DIR/greeting',
          '',
        ].join('\n'),
      );

      const { status, output } = check(dir, 'Dockerfile', '--target', 'final', '--target', 'missing');

      const problems = output.map((line): Problem => {
        const [, at = '', rule = ''] = /^Dockerfile:(\d+): (\w+): /.exec(line) ?? [];
        return { line: Number(at), rule };
      });
      expect({ status, problems }).toEqual({
        status: 1,
        problems: [
          { line: 0, rule: 'UndefinedTarget' },
          { line: 1, rule: 'FromAsCasing' },
          { line: 4, rule: 'UndefinedStage' },
          { line: 5, rule: 'UndefinedVar' },
        ],
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
