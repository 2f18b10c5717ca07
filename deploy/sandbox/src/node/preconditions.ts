import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Debian packages (installed by deploy/local/bootstrap.sh) that hold what the real node runs. */
const HOST_PROGRAMS: Readonly<Record<string, string>> = {
  containerd: 'containerd',
  runc: 'runc',
  iptables: 'iptables',
  ipset: 'ipset',
  conntrack: 'conntrack',
  socat: 'socat',
  ip: 'iproute2',
  unshare: 'util-linux',
  nsenter: 'util-linux',
};
export const CNI_BIN_DIR = '/usr/lib/cni';
const CNI_PLUGINS = ['bridge', 'host-local', 'loopback', 'portmap'];
/** The cgroup v1 hierarchies the kubelet and runc need (cgroupfs driver; `systemd` is a named one the kubelet checks). */
export const CGROUP_CONTROLLERS = [
  'cpu',
  'cpuacct',
  'cpuset',
  'memory',
  'pids',
  'blkio',
  'devices',
  'freezer',
  'systemd',
];

function onPath(program: string): boolean {
  return (process.env['PATH'] ?? '')
    .split(delimiter)
    .concat('/usr/sbin', '/sbin')
    .some((dir) => {
      try {
        accessSync(join(dir, program), constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
}

/**
 * What this machine lacks to run a real node, one reason a line (empty when nothing is missing). Checked before
 * anything is changed, so a missing piece is named instead of failing half-way.
 */
export function missingPreconditions(): string[] {
  const missing: string[] = [];
  if (process.getuid?.() !== 0)
    missing.push('root: the real node makes namespaces, a bridge and cgroups (run as root)');
  const filesystems = readFileSync('/proc/filesystems', 'utf8');
  if (!/\boverlay\b/.test(filesystems))
    missing.push('overlayfs: the kernel has no overlay filesystem (containerd snapshots)');
  if (!existsSync('/proc/sys/net/bridge/bridge-nf-call-iptables'))
    missing.push('br_netfilter: bridged pod traffic cannot pass iptables (modprobe br_netfilter)');
  for (const [program, pkg] of Object.entries(HOST_PROGRAMS)) {
    if (!onPath(program))
      missing.push(`${program}: not installed (Debian package ${pkg}; run deploy/local/bootstrap.sh)`);
  }
  for (const plugin of CNI_PLUGINS) {
    if (!existsSync(join(CNI_BIN_DIR, plugin)))
      missing.push(`CNI plugin ${plugin}: not in ${CNI_BIN_DIR} (Debian package containernetworking-plugins)`);
  }
  for (const controller of CGROUP_CONTROLLERS) {
    const dir = join('/sys/fs/cgroup', controller);
    if (!existsSync(join(dir, 'cgroup.procs'))) {
      missing.push(`cgroup ${controller}: no cgroup v1 hierarchy at ${dir}`);
      continue;
    }
    try {
      accessSync(dir, constants.W_OK);
    } catch {
      missing.push(`cgroup ${controller}: ${dir} is not writable`);
    }
  }
  return missing;
}

export function assertPreconditions(): void {
  const missing = missingPreconditions();
  if (missing.length === 0) return;
  throw new Error(`this machine cannot run the sandbox's real node:\n  - ${missing.join('\n  - ')}`);
}
