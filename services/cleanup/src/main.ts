import { createLogger, JsonLogger } from '@urumi/runtime';
import { cleanupConfigFromEnv } from './config';
import { createCleanupApp } from './cleanup.app';

async function bootstrap(): Promise<void> {
  const logger = new JsonLogger(createLogger('cleanup'));
  const config = cleanupConfigFromEnv(process.env);
  const app = await createCleanupApp(config, { logger });
  // process.exit(0) once closed: as PID 1 of its container, a signal re-sent to itself would be ignored.
  app.enableShutdownHooks(['SIGTERM', 'SIGINT'], { useProcessExit: true });
  await app.listen(config.port, config.host);
  logger.log({ msg: 'Serving health checks', host: config.host, port: config.port }, 'Bootstrap');
  await app.startAllMicroservices();
  logger.log({ msg: 'Tearing down deleted stores', workers: config.workers }, 'Bootstrap');
}

bootstrap().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(
    `${JSON.stringify({ level: 'fatal', service: 'cleanup', msg: 'Cleanup failed to start', error: message })}\n`,
  );
  process.exit(1);
});
