import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { MedusaShopper } from '@urumi/sandbox';
import {
  asUser,
  exec,
  freePort,
  Postgres,
  Redis,
  say,
  seconds,
  Started,
  tempDir,
  testUser,
  User,
  waitFor,
} from './processes';

const app = join(__dirname, '..');
const server = join(app, '.medusa', 'server');
const setup = join(app, 'bin', 'setup.sh');
const minutes = (n: number) => n * 60_000;

// Medusa's bookkeeping: rows that any run may add, which say nothing about what the seed created.
const bookkeeping = new Set([
  'workflow_execution',
  'mikro_orm_migrations',
  'script_migrations',
  'link_module_migrations',
]);

/** The MedusaJS store app that charts/store-medusa deploys, proven end to end: setup, then a real order. */
describe('Medusa store engine', () => {
  let postgres: Postgres | undefined;
  let redis: Redis | undefined;
  let medusa: Started | undefined;
  let worker: Started | undefined;
  let env: NodeJS.ProcessEnv;
  let user: User | undefined;
  let home: string | undefined;
  const admin = { email: 'admin@store.test', password: randomBytes(12).toString('hex') };

  const step = (name: string) =>
    exec(...asUser(user, 'sh', [setup, name]), { cwd: server, env, timeoutMs: minutes(10) }).catch((error: Error) => {
      throw new Error(`setup step ${name} failed: ${error.message}`);
    });

  const rowCounts = async (): Promise<Record<string, number>> => {
    const tables = (
      await postgres!.sql("select tablename from pg_tables where schemaname = 'public' order by 1", 'medusa')
    )
      .split('\n')
      .filter((t) => t && !bookkeeping.has(t));
    const union = tables.map((t) => `select '${t}', count(*) from "${t}"`).join(' union all ');
    const rows = (await postgres!.sql(union, 'medusa')).split('\n').filter(Boolean);
    return Object.fromEntries(rows.map((row) => row.split('|')).map(([t, n]) => [t, Number(n)]));
  };

  beforeAll(async () => {
    const prepared = Date.now();
    const prepare = await exec('bash', [join(app, 'bin', 'prepare.sh')], { timeoutMs: minutes(15) });
    if (prepare.includes('[medusa]')) say(`install and build: ${seconds(Date.now() - prepared)}`);

    user = await testUser();
    home = tempDir('urumi-medusa-home-', user);
    postgres = await Postgres.start(user);
    redis = await Redis.start();
    await postgres.sql('create database medusa');
    env = {
      PATH: process.env['PATH'],
      HOME: home,
      NODE_ENV: 'production',
      MEDUSA_DISABLE_TELEMETRY: 'true',
      DATABASE_URL: postgres.url('medusa'),
      REDIS_URL: redis.url,
      JWT_SECRET: randomBytes(32).toString('hex'),
      COOKIE_SECRET: randomBytes(32).toString('hex'),
      MEDUSA_ADMIN_EMAIL: admin.email,
      MEDUSA_ADMIN_PASSWORD: admin.password,
      STORE_CORS: 'http://localhost',
      ADMIN_CORS: 'http://localhost',
      AUTH_CORS: 'http://localhost',
    };
  }, minutes(20));

  afterAll(async () => {
    await medusa?.stop();
    await worker?.stop();
    await redis?.stop();
    await postgres?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  }, minutes(2));

  it(
    'migrates, creates the admin user and seeds; a second run creates nothing',
    async () => {
      let started = Date.now();
      await step('migrate');
      say(`migrate: ${seconds(Date.now() - started)}`);
      await step('admin');
      started = Date.now();
      const firstSeed = await step('seed');
      say(`first seed: ${seconds(Date.now() - started)}`);
      expect(firstSeed).toMatch(/created publishable API key/);
      const afterFirst = await rowCounts();
      expect(afterFirst).toMatchObject({
        region: 1,
        stock_location: 1,
        fulfillment_set: 1,
        shipping_option: 1,
      });
      expect(afterFirst['product']).toBe(2);
      expect(afterFirst['product_variant']).toBe(4);
      expect(afterFirst['inventory_level']).toBe(4);
      const storefrontKeys = "select count(*) from api_key where type = 'publishable' and title = 'Storefront'";
      expect(await postgres!.sql(storefrontKeys, 'medusa')).toBe('1\n');

      await step('migrate');
      await step('admin');
      const secondSeed = await step('seed');
      expect(secondSeed).toMatch(/Seed finished: created 0 item\(s\)/);
      expect(await rowCounts()).toEqual(afterFirst);

      // What the server and worker wait for before they start (in the chart, with the setup Job's revision).
      await exec(...asUser(user, 'node', [join(app, 'bin', 'wait.js'), 'setup']), {
        cwd: server,
        env: { ...env, WAIT_TIMEOUT_SECONDS: '30' },
      });
    },
    minutes(15),
  );

  it(
    'takes an order through the Store API, visible with its stock reserved in the Admin API',
    async () => {
      const port = await freePort();
      const base = `http://127.0.0.1:${port}`;
      // Exactly what the image runs: the build output with its production dependencies only.
      const medusaBin = join(server, 'node_modules', '.bin', 'medusa');
      const startedAt = Date.now();
      // As the chart runs it: a server for HTTP and a worker for subscribers, scheduled jobs and background workflows.
      worker = Started.spawn('medusa start (worker)', ...asUser(user, medusaBin, ['start']), {
        cwd: server,
        env: { ...env, PORT: String(await freePort()), MEDUSA_WORKER_MODE: 'worker' },
      });
      medusa = Started.spawn('medusa start (server)', ...asUser(user, medusaBin, ['start']), {
        cwd: server,
        env: { ...env, PORT: String(port), MEDUSA_WORKER_MODE: 'server' },
      });
      await waitFor(
        'Medusa /health',
        async () => medusa!.running && (await fetch(`${base}/health`)).ok,
        minutes(3),
      ).catch((error: Error) => {
        throw new Error(`${error.message}\n${medusa!.tail()}`);
      });
      say(`time to first /health: ${seconds(Date.now() - startedAt)}`);

      const shopper = new MedusaShopper({ url: base }, () => medusa!.tail());
      const storefront = await shopper.page('/');
      expect([storefront.status, storefront.body]).toEqual([200, expect.stringContaining('/storefront/config')]);
      const adminUi = await shopper.page('/app');
      expect([adminUi.status, adminUi.contentType]).toEqual([200, expect.stringContaining('text/html')]);

      // The storefront's configuration: the publishable key the seed created, found at run time.
      const publishableKey = await shopper.publishableKey();
      expect(publishableKey).toMatch(/^pk_/);
      const placed = await shopper.placeOrder(publishableKey);
      say(`order flow through the Store API: ${seconds(placed.ms)}`);
      const expectedTotal = 2 * placed.unitPrice + placed.shippingAmount;
      expect(placed.unitPrice).toBe(20);
      expect(expectedTotal).toBe(50);

      const { order, reservations } = await shopper.adminView(admin, placed);
      expect(order).toMatchObject({ email: 'ada@example.com', total: expectedTotal });
      expect(order.items).toEqual([expect.objectContaining({ variant_sku: 'URUMI-TEE-M', quantity: 2 })]);
      expect(reservations).toEqual([expect.objectContaining({ line_item_id: order.items[0]!.id, quantity: 2 })]);

      expect(worker!.running).toBe(true);
      say(`server RSS after the order: ${medusa.rssMiB().toFixed(0)} MiB`);
      say(`worker RSS after the order: ${worker!.rssMiB().toFixed(0)} MiB`);
    },
    minutes(10),
  );
});
