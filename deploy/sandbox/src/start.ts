import { log } from './log';
import { defaultStateDir } from './paths';
import { Platform } from './platform';
import { conventionalPorts, Sandbox } from './sandbox';
import { versions } from './versions';

/** `npm start`: the sandbox, NATS and every service, in the foreground until Ctrl-C. */
async function main(): Promise<void> {
  const sandbox = new Sandbox({ stateDir: defaultStateDir, preferredPorts: conventionalPorts });
  await sandbox.up();
  const platform = new Platform(sandbox, { gatewayPort: Number(process.env['GATEWAY_PORT'] ?? 8080) });
  const stop = async () => {
    log.step('stopping the services (the sandbox keeps running; stop it with `npm run sandbox -- down`)');
    await platform.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
  const { gatewayUrl, metricsUrl, users } = await platform.start();
  const admin = users.find((u) => u.role === 'admin');
  console.log(`
Urumi is running.
  Console        ${gatewayUrl}/
  API            ${gatewayUrl}/api/v1/stores      (OpenAPI: ${gatewayUrl}/api/docs)
  Live status    ${gatewayUrl.replace('http', 'ws')}/api/v1/live
  Metrics        ${metricsUrl}
  Kubernetes     ${versions.kubernetes}   export KUBECONFIG=${sandbox.kubeconfig}
  NATS           ${await sandbox.natsUrl()}
  Sign in as admin with this token (tenants alice and bob are in ${sandbox.stateDir}/tokens.json):
    ${admin?.token}
  Try:  curl -H "Authorization: Bearer ${admin?.token}" ${gatewayUrl}/api/v1/stores

Ctrl-C stops the services.`);
}

main().catch((error: unknown) => {
  console.error(`[start] error: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
