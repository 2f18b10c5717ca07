import type { DynamicModule, NestApplicationOptions, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';

/**
 * A service's HTTP application, on Fastify: the gateway's API and every service's health, readiness and metrics
 * (bench:gateway answers the same bytes from bare NestJS on Fastify with less latency than on Express).
 */
export function createHttpApp(
  module: Type | DynamicModule,
  options: NestApplicationOptions = {},
  adapter: FastifyAdapter = new FastifyAdapter(),
): Promise<NestFastifyApplication> {
  return NestFactory.create<NestFastifyApplication>(module, adapter, options);
}
