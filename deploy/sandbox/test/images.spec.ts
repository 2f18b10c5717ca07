import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BaseImages, buildServiceImage, ensureBaseImages, ImageBuilder, Registry, RegistryClient } from '../src/images';
import { BuiltImage } from '../src/images/buildkit';
import { freePort } from '../src/ports';
import { get } from '../src/probe';
import { ensureToolchain } from '../src/toolchain';

const run = promisify(execFile);

// A cold build bootstraps Debian, fetches Node.js and runs the gateway's npm ci and builds: minutes, not seconds.
jest.setTimeout(45 * 60_000);

/** Every running process's command line and executable's name. */
function processes(): { pid: number; exe: string; cmdline: string }[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((pid) => {
      try {
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
        return [{ pid: Number(pid), exe: cmdline.split(' ')[0]?.split('/').pop() ?? '', cmdline }];
      } catch {
        return [];
      }
    });
}

function hostMountsUnder(...dirs: string[]): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((mountPoint) => dirs.some((dir) => mountPoint.startsWith(dir)));
}

/** node --version of the binary at usr/local/bin/node in the image's layers (read from the registry, not run in it). */
async function nodeVersionIn(client: RegistryClient, image: string, scratch: string): Promise<string> {
  const found = await client.manifest(image);
  if (!found) throw new Error(`${image} is not in the registry`);
  for (const layer of [...found.manifest.layers].reverse()) {
    const file = join(scratch, layer.digest.replace(':', '-'));
    await writeFile(file, await client.blob(image, layer.digest));
    const { stdout: listing } = await run('tar', ['-tf', file]);
    if (!listing.split('\n').includes('usr/local/bin/node')) continue;
    await run('tar', ['-xf', file, '-C', scratch, 'usr/local/bin/node']);
    return (await run(join(scratch, 'usr/local/bin/node'), ['--version'])).stdout.trim();
  }
  throw new Error(`no layer of ${image} holds usr/local/bin/node`);
}

describe(ImageBuilder.name, () => {
  let stateDir: string;
  let registry: Registry;
  let sut: ImageBuilder;
  let client: RegistryClient;
  let bases: BaseImages;
  let gateway: BuiltImage;
  let probe: BuiltImage;

  beforeAll(async () => {
    const toolchain = await ensureToolchain();
    stateDir = await mkdtemp(join(tmpdir(), 'urumi-images-'));
    registry = new Registry({
      stateDir,
      storageDir: join(stateDir, 'registry-data'),
      port: await freePort(),
      toolchain,
    });
    sut = new ImageBuilder({ stateDir, registry: registry.address, toolchain });
    client = new RegistryClient(registry.url);
    await registry.start();
    await sut.start();
    bases = await ensureBaseImages(sut);
    gateway = await buildServiceImage({ builder: sut, toolchain }, bases, 'gateway');
    // A RUN step no cache can answer (the nonce), which records the cgroup runc put it in.
    const probeDir = join(stateDir, 'probe');
    await run('mkdir', ['-p', probeDir]);
    await writeFile(
      join(probeDir, 'Dockerfile'),
      'ARG BASE\nFROM ${BASE}\nARG NONCE\nRUN echo "$NONCE" > /nonce && cat /proc/self/cgroup > /cgroup-of-build-step\n',
    );
    probe = await sut.build({
      name: 'probe',
      dockerfile: join(probeDir, 'Dockerfile'),
      context: probeDir,
      buildArgs: { BASE: bases.debian, NONCE: String(Date.now()) },
      image: `${registry.address}/test/probe:latest`,
    });
  });

  afterAll(async () => {
    await sut?.stop();
    await registry?.stop();
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });

  it('pushes the Debian, Node, pause and gateway images under names of our own', async () => {
    const images = [bases.debian, bases.node22, bases.node20, bases.pause, gateway.image];

    const found = await Promise.all(images.map(async (image) => [image, (await client.manifest(image))?.digest]));

    expect(images).toEqual([
      `${registry.address}/base/debian:bookworm`,
      `${registry.address}/base/node:22.22.2-bookworm`,
      `${registry.address}/base/node:20.20.2-bookworm`,
      `${registry.address}/base/pause:1.0.0`,
      `${registry.address}/urumi/gateway:dev`,
    ]);
    expect(found.every(([, digest]) => /^sha256:[0-9a-f]{64}$/.test(digest ?? ''))).toBe(true);
    expect(Object.fromEntries(found)[gateway.image]).toBe(gateway.digest);
  });

  it('builds the gateway image as the Dockerfile says: non-root user, its command, on the local Node image', async () => {
    const found = await client.manifest(gateway.image);
    const config = await client.config(gateway.image, found!.manifest);

    expect({
      user: config.config.User,
      cmd: config.config.Cmd,
      workingDir: config.config.WorkingDir,
      nodeVersion: config.config.Env?.find((e) => e.startsWith('NODE_VERSION=')),
    }).toEqual({
      user: '1000:1000',
      cmd: ['node', 'dist/services/gateway/src/main.js'],
      workingDir: '/app',
      nodeVersion: 'NODE_VERSION=22.22.2',
    });
  });

  it('puts the pinned official Node.js binary into each Node image', async () => {
    const scratch = join(stateDir, 'layers');
    await run('mkdir', ['-p', join(scratch, '22'), join(scratch, '20')]);

    expect({
      node22: await nodeVersionIn(client, bases.node22, join(scratch, '22')),
      node20: await nodeVersionIn(client, bases.node20, join(scratch, '20')),
    }).toEqual({ node22: 'v22.22.2', node20: 'v20.20.2' });
  });

  it('runs each build step in a cgroup below this process’s own', async () => {
    const own = readFileSync('/proc/self/cgroup', 'utf8')
      .split('\n')
      .find((line) => line.split(':')[1] === 'memory')
      ?.split(':')[2];
    const found = await client.manifest(probe.image);
    const scratch = join(stateDir, 'probe-layer');
    await run('mkdir', ['-p', scratch]);
    const lastLayer = found!.manifest.layers.at(-1)!;
    await writeFile(join(scratch, 'layer'), await client.blob(probe.image, lastLayer.digest));
    await run('tar', ['-xf', join(scratch, 'layer'), '-C', scratch, 'cgroup-of-build-step']);
    const stepCgroups = readFileSync(join(scratch, 'cgroup-of-build-step'), 'utf8');
    const memory =
      stepCgroups
        .split('\n')
        .find((line) => line.split(':')[1] === 'memory')
        ?.split(':')[2] ?? '';

    expect(sut.cgroup.startsWith(`${own}/`)).toBe(true);
    expect(memory).toMatch(new RegExp(`^${sut.cgroup}/buildkit/[a-z0-9]+$`));
    // runc's default parent, /buildkit, is in the machine's cgroup, not ours.
    expect(existsSync('/sys/fs/cgroup/memory/buildkit')).toBe(false);
  });

  it('keeps its mounts off the host, and leaves no process, mount, cgroup or socket when stopped', async () => {
    const cgroupDirs = () =>
      readdirSync('/sys/fs/cgroup').filter((h) => existsSync(join('/sys/fs/cgroup', h, sut.cgroup)));
    const mine = () =>
      processes().filter(
        (p) =>
          ['buildkitd', 'runc', 'registry'].includes(p.exe) &&
          (p.cmdline.includes(stateDir) || p.cmdline.includes(sut.rootDir)),
      );
    const running = {
      hostMounts: hostMountsUnder(stateDir, sut.rootDir),
      daemons: mine()
        .map((p) => p.exe)
        .sort(),
    };

    await sut.stop();
    await registry.stop();

    expect(running).toEqual({ hostMounts: [], daemons: ['buildkitd', 'registry'] });
    expect({
      processes: mine(),
      hostMounts: hostMountsUnder(stateDir, sut.rootDir),
      cgroups: cgroupDirs(),
      socket: existsSync(sut.socket),
      registry: (await get(`${registry.url}/v2/`)).status,
    }).toEqual({ processes: [], hostMounts: [], cgroups: [], socket: false, registry: 0 });
  });
});
