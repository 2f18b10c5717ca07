import 'reflect-metadata';
import { BadRequestException, ValidationError, ValidationPipe } from '@nestjs/common';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { JetStreamServer } from '@urumi/messaging';
import { createHttpApp, createLogger, JsonLogger, ShutdownState } from '@urumi/runtime';
import { Registry } from 'prom-client';
import { AppModule } from './app.module';
import { authConfigFromEnv } from './auth';
import { GATEWAY_CONFIG, GatewayConfig, gatewayConfigFromEnv, trustedHops } from './config/gateway.config';
import { enginesConfigFromEnv } from './engines/engines.config';
import { HttpExceptionFilter } from './http/http-exception.filter';
import { acceptJsonBodies, JsonBodyAdapter } from './http/json-body';
import { withClosedSchemas } from './http/openapi';
import { printable } from './http/printable';
import { corsOptions } from './http/cors';
import { useRequestContext } from './http/request-context';
import { liveConfigFromEnv } from './live/live.config';
import { throttlingConfigFromEnv } from './throttling';

/**
 * Validation failures as one sentence: "name must be 3–40 characters long; engine must be one of: …". An unknown
 * property's name is the client's input: it is shown bounded and escaped.
 */
export function validationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    exceptionFactory: (errors: ValidationError[]) =>
      new BadRequestException(
        errors
          .flatMap((e) =>
            Object.entries(e.constraints ?? {}).map(([constraint, message]) =>
              constraint === 'whitelistValidation' ? `property ${printable(e.property)} should not exist` : message,
            ),
          )
          .join('; ') || 'invalid request',
      ),
  });
}

export async function createGateway(env: NodeJS.ProcessEnv): Promise<NestFastifyApplication> {
  const gateway = gatewayConfigFromEnv(env);
  const app = await createHttpApp(
    AppModule.forRoot({
      gateway,
      auth: authConfigFromEnv(env),
      throttling: throttlingConfigFromEnv(env),
      live: liveConfigFromEnv(env),
      engines: enginesConfigFromEnv(env),
    }),
    { logger: new JsonLogger(createLogger('gateway')), bodyParser: false, abortOnError: false },
    new JsonBodyAdapter({
      trustProxy: trustedHops(gateway.trustedProxies),
      bodyLimit: gateway.bodyLimitBytes,
      // Any id that fits in a request reaches the handler (and its bounded 404), not the router's.
      routerOptions: { maxParamLength: 16 * 1024 },
    }),
  );
  const fastify = app.getHttpAdapter().getInstance();
  useRequestContext(fastify, app.get(Registry));
  acceptJsonBodies(fastify);
  app.enableCors(corsOptions(gateway.allowedOrigins));
  app.useGlobalPipes(validationPipe());
  app.useGlobalFilters(new HttpExceptionFilter());
  // process.exit(0) once closed: as PID 1 of its container, a signal re-sent to itself would be ignored.
  app.enableShutdownHooks(['SIGTERM', 'SIGINT'], { useProcessExit: true });
  const document = withClosedSchemas(
    SwaggerModule.createDocument(
      app,
      new DocumentBuilder()
        .setTitle('Urumi')
        .setDescription('Self-hosted store provisioning: create, watch and delete stores')
        .setVersion('v1')
        .addBearerAuth()
        .build(),
    ),
  );
  // Public on purpose, outside the guards and limits: the contract clients generate from; it holds no data.
  SwaggerModule.setup('api/docs', app, document, { jsonDocumentUrl: 'api/docs/openapi.json' });
  app.connectMicroservice({
    // The projector applies events in stream order: one at a time.
    strategy: new JetStreamServer({
      nats: gateway.nats,
      durablePrefix: 'gateway',
      stream: 'STORES',
      concurrency: 1,
      stopPullingOn: app.get(ShutdownState).signal,
    }),
  });
  return app;
}

async function main(): Promise<void> {
  const app = await createGateway(process.env);
  const { host, port } = app.get<GatewayConfig>(GATEWAY_CONFIG);
  // HTTP first: initialising the app creates the streams the projector's consumer waits for.
  await app.listen(port, host);
  await app.startAllMicroservices();
}

if (require.main === module) {
  void main().catch((error: unknown) => {
    process.stderr.write(`gateway failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
