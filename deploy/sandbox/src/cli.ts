import { relative } from 'node:path';
import { compileServices, distRoot } from './compile';
import { binaryOf, ensureToolchain } from './toolchain';
import { conventionalPorts, Sandbox } from './sandbox';
import { defaultStateDir } from './paths';
import { versions } from './versions';
import { ensureImages } from './images/ensure-images';
import { printImages } from './images/images-command';
import { inClusterCommand } from './in-cluster';
import { NODE_NAME, REAL_NODE_LABEL } from './node/plan';

const USAGE = `usage: npm run sandbox -- <command>

  build [--list]   build (or find in the cache) every binary the sandbox runs; --list prints their paths
  path <binary>    print the path of one built binary (kubectl, helm, buf, …)
  compile          compile the services to dist/ (what \`npm start\` and the images run)
  up               start etcd, the Kubernetes control plane, KWOK, NATS JetStream and a real node (containerd,
                   kubelet, kube-proxy, kube-router, CoreDNS, Traefik, a local registry)
  images           build every image (bases, the four services, Medusa) into the sandbox's registry
  in-cluster [--uninstall]
                   build the platform's images and helm install charts/platform on the real node (console and
                   API through Traefik); --uninstall removes it
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
Real node            ${NODE_NAME}: pods with nodeSelector ${REAL_NODE_LABEL.key}=${REAL_NODE_LABEL.value} and its toleration run for real
Ingress (Traefik)    http://<host>:${(await sandbox.ports()).ingress}/ on 127.0.0.1 (e.g. http://<store>.127.0.0.1.nip.io)
Logs                 ${rel(sandbox.daemons.logFile('*'))}
Stop with            npm run sandbox -- down`);
      return 0;
    }
    case 'images': {
      const toolchain = await ensureToolchain();
      const images = await sandbox.withImageBuilder((builder) => ensureImages({ builder, toolchain }));
      await printImages(`http://127.0.0.1:${(await sandbox.ports()).registry}`, images);
      return 0;
    }
    case 'in-cluster':
      return inClusterCommand(sandbox, flags);
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
