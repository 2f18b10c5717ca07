import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { floorSettings } from './canned';
import { NestFloorModule } from './nest-floor.module';

/** Bare NestJS on Fastify, the gateway's adapter: what its framework costs. */
async function main(): Promise<void> {
  const { port, responses } = floorSettings();
  const app = await NestFactory.create<NestFastifyApplication>(
    NestFloorModule.answering(responses),
    new FastifyAdapter(),
    { logger: false },
  );
  await app.listen(port, '127.0.0.1');
}

void main();
