import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { floorSettings } from './canned';
import { NestFloorModule } from './nest-floor.module';

/** Bare NestJS on Express, the adapter the gateway ran on before Fastify. */
async function main(): Promise<void> {
  const { port, responses } = floorSettings();
  const app = await NestFactory.create<NestExpressApplication>(NestFloorModule.answering(responses), {
    logger: false,
  });
  // Express would add an X-Powered-By and an ETag the gateway does not send.
  app.disable('x-powered-by');
  app.disable('etag');
  await app.listen(port, '127.0.0.1');
}

void main();
