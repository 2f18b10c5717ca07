import fastify, { FastifyInstance } from 'fastify';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { serveConsole } from './console.module';

describe(serveConsole.name, () => {
  let dir: string;

  const apps: FastifyInstance[] = [];

  /** The console beside a stand-in API route and the JSON 404 the gateway ends with. */
  async function app(consoleDir: string): Promise<FastifyInstance['server']> {
    const sut = fastify();
    apps.push(sut);
    sut.get('/api/v1/stores', async () => ({ items: [] }));
    serveConsole(sut, consoleDir);
    sut.setNotFoundHandler((_req, reply) => reply.status(404).send({ statusCode: 404 }));
    await sut.ready();
    return sut.server;
  }

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'urumi-console-'));
    writeFileSync(join(dir, 'index.html'), '<urumi-root></urumi-root>');
    writeFileSync(join(dir, 'main-FJUNCHZP.js'), 'console.log(1)');
  });

  afterEach(async () => {
    await Promise.all(apps.splice(0).map((sut) => sut.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the console at / with a content security policy', async () => {
    const res = await request(await app(dir))
      .get('/')
      .expect(200);

    expect(res.text).toBe('<urumi-root></urumi-root>');
    expect(res.headers['content-security-policy']).toContain("script-src 'self'");
    expect(res.headers['cache-control']).toBe('no-cache');
  });

  it("serves index.html for the console's own routes, so a reload or a shared link works", async () => {
    const res = await request(await app(dir))
      .get('/stores/0f8c1c3e')
      .expect(200);

    expect(res.text).toBe('<urumi-root></urumi-root>');
  });

  it('serves built files, the content-hashed ones cacheable for good', async () => {
    const res = await request(await app(dir))
      .get('/main-FJUNCHZP.js')
      .expect(200);

    expect(res.text).toBe('console.log(1)');
    expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
  });

  it('leaves a missing file and every /api path to the API (its JSON 404)', async () => {
    await request(await app(dir))
      .get('/missing-AAAAAAAA.js')
      .expect(404, { statusCode: 404 });
    await request(await app(dir))
      .get('/api/v1/nothing-here')
      .expect(404, { statusCode: 404 });
    await request(await app(dir))
      .get('/api')
      .expect(404, { statusCode: 404 });
    await request(await app(dir))
      .get('/api/v1/stores')
      .expect(200, { items: [] });
  });

  it('answers only GET and HEAD', async () => {
    await request(await app(dir))
      .post('/stores')
      .expect(404, { statusCode: 404 });
    await request(await app(dir))
      .head('/stores')
      .expect(200);
  });

  it('says how to build the console when it is not built', async () => {
    const res = await request(await app(join(dir, 'absent')))
      .get('/')
      .expect(404);

    expect(res.text).toContain('npx nx run console:build');
    expect(res.text).toContain('CONSOLE_DIR');
  });
});
