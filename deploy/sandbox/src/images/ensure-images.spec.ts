import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stageContext } from './ensure-images';

describe(stageContext.name, () => {
  let dir: string;
  let cacheDir: string | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'urumi-stage-context-'));
    cacheDir = process.env['URUMI_CACHE_DIR'];
    process.env['URUMI_CACHE_DIR'] = join(dir, 'cache');
  });

  afterEach(async () => {
    if (cacheDir === undefined) delete process.env['URUMI_CACHE_DIR'];
    else process.env['URUMI_CACHE_DIR'] = cacheDir;
    await rm(dir, { recursive: true, force: true });
  });

  // Every service image asks for the same buf and helm contexts at once: on a cold cache they all stage them.
  it('stages one binary for several builds that ask at once on a cold cache', async () => {
    const binary = join(dir, 'toolchain', 'helm-v3.22.0-abc', 'bin', 'helm');
    await mkdir(join(binary, '..'), { recursive: true });
    await writeFile(binary, 'the helm binary');
    const toolchain = { bin: { helm: binary }, kwokStages: [] };

    const staged = await Promise.all(Array.from({ length: 4 }, () => stageContext(toolchain, 'helm')));

    expect(new Set(staged).size).toBe(1);
    expect(await readFile(join(staged[0]!, 'out', 'helm'), 'utf8')).toBe('the helm binary');
  });
});
