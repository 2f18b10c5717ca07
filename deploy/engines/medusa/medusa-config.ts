import { defineConfig, loadEnv } from '@medusajs/framework/utils';

loadEnv(process.env.NODE_ENV || 'development', process.cwd());

// Read at run time from the environment; in production Medusa refuses to start without the secrets.
const redisUrl = process.env.REDIS_URL;
// One image for both roles: the chart runs a "server" and a "worker"; "shared" runs both in one process.
const workerMode = (process.env.MEDUSA_WORKER_MODE || 'shared') as 'shared' | 'worker' | 'server';

export default defineConfig({
  projectConfig: {
    databaseUrl: process.env.DATABASE_URL,
    redisUrl,
    workerMode,
    http: {
      storeCors: process.env.STORE_CORS || '',
      adminCors: process.env.ADMIN_CORS || '',
      authCors: process.env.AUTH_CORS || '',
      jwtSecret: process.env.JWT_SECRET,
      cookieSecret: process.env.COOKIE_SECRET,
    },
  },
  admin: {
    // The worker never serves the admin UI (at /app); the server does unless it is switched off.
    disable: workerMode === 'worker' || process.env.MEDUSA_ADMIN_DISABLED === 'true',
    backendUrl: process.env.MEDUSA_BACKEND_URL || '/',
  },
  modules: [
    {
      resolve: '@medusajs/medusa/event-bus-redis',
      options: {
        redisUrl,
        jobOptions: {
          removeOnComplete: { age: 3600, count: 1000 },
          removeOnFail: { age: 3600, count: 1000 },
        },
      },
    },
    {
      resolve: '@medusajs/medusa/workflow-engine-redis',
      options: { redis: { redisUrl } },
    },
    {
      resolve: '@medusajs/medusa/locking',
      options: {
        providers: [
          {
            resolve: '@medusajs/medusa/locking-redis',
            id: 'locking-redis',
            is_default: true,
            options: { redisUrl },
          },
        ],
      },
    },
  ],
});
