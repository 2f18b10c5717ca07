import { relative } from 'node:path';
import { compileServices, distRoot } from './compile';
import { binaryOf, ensureToolchain } from './toolchain';
import { conventionalPorts, Sandbox } from './sandbox';
import { defaultStateDir } from './paths';
import { versions } from './versions';

const USAGE = `usage: npm run sandbox -- <command>

  build [--list]   build (or find in the cache) every binary the sandbox runs; --list prints their paths
  path <binary>    print the path of one built binary (kubectl, helm, buf, …)
  compile          compile the services to dist/ (what \`npm start\` and the images run)
  up               start etcd, the Kubernetes control plane, KWOK and NATS JetStream
  down [--purge]   stop everything; --purge also deletes the data under .sandbox/
  status           tell what runs and whether it is healthy`;

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...flags] = argv;
  const sandbox = new Sandbox({ stateDir: defaultStateDir, preferredPorts: conventionalPorts });
  const rel = (path: string) => relative(process.cwd(), path) || path;

  switch (command) {
    case 'build': {
      const toolchain = await ensureToolchain();
      if (flags.includes('--list')) {
        for (const [name, path] of Object.entries(toolchain.bin)) console.log(`${name.padEnd(24)} ${path}`);
      }
      return 0;
    }
    case 'path': {
      const [name = ''] = flags;
      console.log(binaryOf(await ensureToolchain(), name));
      return 0;
    }
    case 'compile': {
      const { compiled, total } = await compileServices();
      console.log(`compiled ${compiled} of ${total} sources into ${rel(distRoot)}/ (the rest were up to date)`);
      return 0;
    }
    case 'up': {
      await sandbox.up();
      console.log(`
Kubernetes ${versions.kubernetes}   export KUBECONFIG=${sandbox.kubeconfig}
NATS JetStream       ${await sandbox.natsUrl()}   (also in ${rel(sandbox.natsUrlFile)})
Logs                 ${rel(sandbox.daemons.logFile('*'))}
Stop with            npm run sandbox -- down`);
      return 0;
    }
    case 'down':
      await sandbox.down({ purge: flags.includes('--purge') });
      return 0;
    case 'status': {
      const statuses = await sandbox.status();
      for (const s of statuses) {
        const state = s.pid === undefined ? 'stopped' : s.healthy ? 'running' : 'unhealthy';
        console.log(
          `${s.name.padEnd(24)} ${state.padEnd(10)} ${s.pid === undefined ? '' : `pid ${s.pid}`.padEnd(10)} ${s.pid === undefined ? '' : s.endpoint}`,
        );
      }
      return statuses.every((s) => s.healthy) ? 0 : 3;
    }
    default:
      console.error(USAGE);
      return command === undefined || command === 'help' || command === '--help' ? 0 : 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`[sandbox] error: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
