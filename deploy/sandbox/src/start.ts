import { writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { passwordOf } from './chart-nats';
import { log } from './log';
import { defaultStateDir } from './paths';
import { Platform, PLATFORM_NAMESPACE } from './platform';
import { Prometheus, writeChartAlertRules } from './prometheus';
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
  const started: { prometheus?: Prometheus } = {};
  const stop = async () => {
    log.step('stopping the services (the sandbox keeps running; stop it with `npm run sandbox -- down`)');
    await started.prometheus?.stop();
    await platform.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
  const { gatewayUrl, metricsUrl, users, nats } = await platform.start();
  // A Prometheus scraping every service, with the chart's alert rules, as the chart's PodMonitor would in a cluster.
  const prometheus = await Prometheus.start({
    targets: platform.scrapeTargets(),
    labels: { namespace: PLATFORM_NAMESPACE },
    ruleFiles: [await writeChartAlertRules(sandbox, PLATFORM_NAMESPACE, join(sandbox.stateDir, 'urumi-alerts.yaml'))],
    intervalSeconds: 5,
    dir: join(sandbox.stateDir, 'prometheus'),
  });
  started.prometheus = prometheus;
  const admin = users.find((u) => u.role === 'admin');
  // NATS passwords go to files only this user may read, not to the terminal: admin's, and the read-only subscriber's.
  const envFile = async (name: string, user: string, password: string) => {
    const file = join(sandbox.stateDir, name);
    await writeFile(file, `NATS_URL=${nats.url}\nNATS_USER=${user}\nNATS_PASSWORD=${password}\n`, { mode: 0o600 });
    return relative(process.cwd(), file);
  };
  const natsEnvFile = await envFile('platform-nats.env', nats.user, nats.password);
  const subscriberEnvFile = await envFile('platform-subscriber.env', 'subscriber', passwordOf(nats, 'subscriber'));
  console.log(`
Urumi is running.
  Console        ${gatewayUrl}/
  API            ${gatewayUrl}/api/v1/stores      (OpenAPI: ${gatewayUrl}/api/docs)
  Live status    ${gatewayUrl.replace('http', 'ws')}/api/v1/live
  Metrics        ${metricsUrl}
  Prometheus     ${prometheus.url}   (every service, the chart's alerts; Grafana: add it as a Prometheus data
                 source, import charts/platform/monitoring/dashboard.json, pick namespace ${PLATFORM_NAMESPACE})
  Kubernetes     ${versions.kubernetes}   export KUBECONFIG=${sandbox.kubeconfig}
  NATS           ${nats.url}   (the chart's nats.conf: each service signs in as its own user)
  NATS as admin  set -a; . ${natsEnvFile}; set +a   then e.g. npm run dlq -- list
  Store events   set -a; . ${subscriberEnvFile}; set +a
                 npx tsx --tsconfig tsconfig.base.json examples/store-subscriber/subscriber.ts   (proto/EVENTS.md)
  Sign in as admin with this token (tenants alice and bob are in ${sandbox.stateDir}/tokens.json):
    ${admin?.token}
  Try:  curl -H "Authorization: Bearer ${admin?.token}" ${gatewayUrl}/api/v1/stores

Ctrl-C stops the services.`);
}

main().catch((error: unknown) => {
  console.error(`[start] error: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
