import { createLogger, JsonLogger } from '@urumi/runtime';
import { provisionerConfigFromEnv } from './config';
import { createProvisionerApp } from './provisioner.app';

async function bootstrap(): Promise<void> {
  const logger = new JsonLogger(createLogger('provisioner'));
  const config = provisionerConfigFromEnv(process.env);
  const app = await createProvisionerApp(config, { logger });
  // process.exit(0) once closed: as PID 1 of its container, a signal re-sent to itself would be ignored.
  app.enableShutdownHooks(['SIGTERM', 'SIGINT'], { useProcessExit: true });
  await app.listen(config.port, config.host);
  logger.log({ msg: 'Serving health checks', host: config.host, port: config.port }, 'Bootstrap');
  await app.startAllMicroservices();
  logger.log(
    { msg: 'Provisioning approved stores', workers: config.workers, baseDomain: config.baseDomain },
    'Bootstrap',
  );
}

bootstrap().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(
    `${JSON.stringify({ level: 'fatal', service: 'provisioner', msg: 'Provisioner failed to start', error: message })}\n`,
  );
  process.exit(1);
});
