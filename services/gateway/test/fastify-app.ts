import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import type { TestingModule } from '@nestjs/testing';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';

/**
 * The testing module as an application on Fastify, as the gateway runs, initialised and ready for supertest;
 * `configure` gets the Fastify instance first (hooks, as the gateway adds its own).
 */
export async function fastifyApp(
  moduleRef: TestingModule,
  { server = {}, configure }: { server?: FastifyServerOptions; configure?: (fastify: FastifyInstance) => void } = {},
): Promise<NestFastifyApplication> {
  const app = moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter(server), { logger: false });
  configure?.(app.getHttpAdapter().getInstance());
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return app;
}
