import { writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { log } from './log';
import { defaultStateDir } from './paths';
import { Platform } from './platform';
import { conventionalPorts, Sandbox } from './sandbox';
import { versions } from './versions';

/** `npm start`: the sandbox, NATS and every service, in the foreground until Ctrl-C. */
async function main(): Promise<void> {
  const sandbox = new Sandbox({ stateDir: defaultStateDir, preferredPorts: conventionalPorts });
  await sandbox.up();
  const platform = new Platform(sandbox, {
    gatewayPort: Number(process.env['GATEWAY_PORT'] ?? 8080),
    // The stores' read model, quota ledger and audit trail outlive a restart, as the Stores in the cluster do.
    natsDir: join(sandbox.stateDir, 'platform-nats'),
    // Medusa stores run on the real node, so Visit store shows a real storefront.
    realStores: true,
  });
  const stop = async () => {
    log.step('stopping the services (the sandbox keeps running; stop it with `npm run sandbox -- down`)');
    await platform.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
  const { gatewayUrl, metricsUrl, users, nats } = await platform.start();
  const admin = users.find((u) => u.role === 'admin');
  // The admin password goes to a file only this user may read, not to the terminal.
  const natsEnvFile = join(sandbox.stateDir, 'platform-nats.env');
  await writeFile(natsEnvFile, `NATS_URL=${nats.url}\nNATS_USER=${nats.user}\nNATS_PASSWORD=${nats.password}\n`, {
    mode: 0o600,
  });
  console.log(`
Urumi is running.
  Console        ${gatewayUrl}/
  API            ${gatewayUrl}/api/v1/stores      (OpenAPI: ${gatewayUrl}/api/docs)
  Live status    ${gatewayUrl.replace('http', 'ws')}/api/v1/live
  Metrics        ${metricsUrl}
  Kubernetes     ${versions.kubernetes}   export KUBECONFIG=${sandbox.kubeconfig}
  NATS           ${nats.url}   (the chart's nats.conf: each service signs in as its own user)
  NATS as admin  set -a; . ${relative(process.cwd(), natsEnvFile)}; set +a   then e.g. npm run dlq -- list
  Sign in as admin with this token (tenants alice and bob are in ${sandbox.stateDir}/tokens.json):
    ${admin?.token}
  Try:  curl -H "Authorization: Bearer ${admin?.token}" ${gatewayUrl}/api/v1/stores

Ctrl-C stops the services.`);
}

main().catch((error: unknown) => {
  console.error(`[start] error: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
