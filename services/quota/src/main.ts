import { createLogger, JsonLogger } from '@urumi/runtime';
import { quotaConfigFromEnv } from './config/quota.config';
import { ConsumerReadiness } from './consumer-readiness';
import { createQuotaApp } from './quota.app';

let stopping = false;

async function bootstrap(): Promise<void> {
  const logger = new JsonLogger(createLogger('quota'));
  const config = quotaConfigFromEnv(process.env);
  const app = await createQuotaApp(config, { logger });
  // process.exit(0) once closed: as PID 1 of its container, a signal re-sent to itself would be ignored.
  app.enableShutdownHooks(['SIGTERM', 'SIGINT'], { useProcessExit: true });
  for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => (stopping = true));
  await app.listen(config.port, config.host);
  logger.log({ msg: 'Serving health checks', host: config.host, port: config.port }, 'Bootstrap');
  await app.startAllMicroservices();
  app.get(ConsumerReadiness).markStarted();
  logger.log({ msg: 'Deciding store creations', limits: config.limits, bucket: config.bucket }, 'Bootstrap');
}

bootstrap().catch((error: unknown) => {
  // Stopped while still starting (e.g. waiting for the stream): Nest's shutdown hook finishes the exit.
  if (stopping) return;
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(
    `${JSON.stringify({ level: 'fatal', service: 'quota', msg: 'Quota service failed to start', error: message })}\n`,
  );
  process.exit(1);
});
