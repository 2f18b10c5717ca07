import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { exec } from '../src/exec';
import { ownCgroup } from '../src/node/cgroups';
import { NODE_NAME, REAL_NODE_LABEL, REAL_NODE_TAINT, SERVICE_CIDR } from '../src/node/plan';
import { missingPreconditions } from '../src/node/preconditions';
import { EGRESS_GUARD_COMMENT, RealNode } from '../src/node/real-node';
import { Sandbox } from '../src/sandbox';
import { eventually } from '../src/testing/eventually';
import { testSandbox } from '../src/testing/test-sandbox';

// Real containers start, and a second sandbox comes up and goes down twice.
jest.setTimeout(300_000);

/** Every folder named `name` under any cgroup hierarchy (the unified one too). */
function cgroupFolders(name: string): string[] {
  const found: string[] = [];
  const walk = (dir: string, depth: number) => {
    if (depth > 4 || !existsSync(dir)) return;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      if (entry.name === name) found.push(join(dir, entry.name));
      else walk(join(dir, entry.name), depth + 1);
    }
  };
  walk('/sys/fs/cgroup', 0);
  return found;
}

/** Processes whose command line mentions `text` (a state folder, say). */
function processesMentioning(text: string): string[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      } catch {
        return '';
      }
    })
    .filter((cmdline) => cmdline.includes(text));
}

describe(RealNode.name, () => {
  const sandbox = testSandbox();
  let sut: RealNode;

  beforeAll(async () => {
    sut = await sandbox.realNode();
  });

  it('registers as a Ready node of the sandbox, labelled and tainted so only pods that ask for it land there', async () => {
    const node = JSON.parse(await sandbox.kubectl(['get', 'node', NODE_NAME, '-o', 'json'])) as {
      metadata: { labels: Record<string, string> };
      spec: { taints: { key: string; value: string; effect: string }[] };
      status: { conditions: { type: string; status: string }[]; nodeInfo: { containerRuntimeVersion: string } };
    };
    expect(node.status.conditions.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(node.metadata.labels[REAL_NODE_LABEL.key]).toBe(REAL_NODE_LABEL.value);
    expect(node.spec.taints).toContainEqual(REAL_NODE_TAINT);
    expect(node.status.nodeInfo.containerRuntimeVersion).toMatch(/^containerd:\/\/1\./);
  });

  it('keeps the pod network on a bridge of its own with no route off the machine', async () => {
    const { plan } = sut;
    const routes = (await sut.run('ip', ['-4', 'route', 'show'])).trim().split('\n');
    expect(routes.map((r) => r.split(' ').slice(0, 3).join(' ')).sort()).toEqual(
      [
        `${SERVICE_CIDR} dev ${plan.bridge}`,
        `${plan.podCidr} dev ${plan.bridge}`,
        `10.251.${plan.index}.0/30 dev ${plan.nodeVeth}`,
      ].sort(),
    );
    // The one way out of the node is the link to the host, and only to the host end's own address.
    expect(await sut.run('iptables', ['-t', 'mangle', '-S', 'POSTROUTING'])).toContain(
      `-A POSTROUTING ! -d ${plan.hostIp}/32 -o ${plan.nodeVeth} -m comment --comment "${EGRESS_GUARD_COMMENT}" -j DROP`,
    );
    // The CNI plugin masquerades nothing (its chains would be CNI-…), and the host forwards nothing from the link.
    expect(await sut.run('iptables', ['-t', 'nat', '-S'])).not.toMatch(/CNI-/);
    expect((await readFile('/proc/sys/net/ipv4/ip_forward', 'utf8')).trim()).toBe('0');
    expect((await readFile(`/proc/sys/net/ipv4/conf/${plan.hostVeth}/forwarding`, 'utf8')).trim()).toBe('0');
    const { stdout: hostRoutes } = await exec('ip', ['-4', 'route', 'show', 'dev', plan.hostVeth]);
    expect(
      hostRoutes
        .trim()
        .split('\n')
        .map((r) => r.split(' ')[0])
        .sort(),
    ).toEqual([`10.251.${plan.index}.0/30`, plan.podCidr].sort());
  });

  it('runs the node and its containers in cgroups below the sandbox’s own', async () => {
    const pid = sut.holderPid();
    const memoryCgroupOf = (p: number | undefined) =>
      readFileSync(`/proc/${p}/cgroup`, 'utf8')
        .split('\n')
        .find((l) => /:memory:/.test(l))
        ?.split(':')[2];
    expect(memoryCgroupOf(pid)).toBe(`${sut.cgroup}/system`);
    expect(sut.cgroup.startsWith(`${ownCgroup()}/`)).toBe(true);
  });

  it('names what a machine lacks before it changes anything', () => {
    const path = process.env['PATH'];
    process.env['PATH'] = '/nonexistent';
    try {
      expect(missingPreconditions()).toContain(
        'containerd: not installed (Debian package containerd; run deploy/local/bootstrap.sh)',
      );
    } finally {
      process.env['PATH'] = path;
    }
    expect(missingPreconditions()).toEqual([]);
  });

  it('comes up and goes down twice, leaving no process, veth, cgroup, mount or host iptables rule behind', async () => {
    // Inside this run's own state folder, which no other run's sweep of abandoned sandboxes touches.
    const stateDir = await mkdtemp(join(sandbox.stateDir, 'updown-'));
    const second = new Sandbox({ stateDir });
    const hostRules = async () =>
      (await exec('iptables-save', [])).stdout.replace(/^#.*\n/gm, '').replace(/\[\d+:\d+\]/g, '');
    const rulesBefore = await hostRules();
    for (let round = 0; round < 2; round++) {
      await second.up();
      const node = await second.realNode();
      expect(node.plan.index).not.toBe(sut.plan.index);
      expect(processesMentioning(stateDir).length).toBeGreaterThan(0);
      await second.down();
      expect(processesMentioning(stateDir)).toEqual([]);
      const { stdout: links } = await exec('ip', ['-o', 'link', 'show']);
      expect(links).not.toContain(`${node.plan.hostVeth}@`);
      expect(cgroupFolders(`urumi-node-${node.plan.index}`)).toEqual([]);
      expect(readFileSync('/proc/mounts', 'utf8')).not.toContain(stateDir);
      await eventually(async () => expect(await hostRules()).toBe(rulesBefore), 10_000);
    }
    await second.down({ purge: true });
  });
});
