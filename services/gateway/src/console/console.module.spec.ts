import express from 'express';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { consoleHandler } from './console.module';

describe(consoleHandler.name, () => {
  let dir: string;

  /** The console handler behind a stand-in API route and the JSON 404 the gateway ends with. */
  function app(consoleDir: string): express.Express {
    const sut = express();
    sut.get('/api/v1/stores', (_req, res) => res.json({ items: [] }));
    sut.use(consoleHandler(consoleDir));
    sut.use((_req: express.Request, res: express.Response) => res.status(404).json({ statusCode: 404 }));
    return sut;
  }

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'urumi-console-'));
    writeFileSync(join(dir, 'index.html'), '<urumi-root></urumi-root>');
    writeFileSync(join(dir, 'main-FJUNCHZP.js'), 'console.log(1)');
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('serves the console at / with a content security policy', async () => {
    const res = await request(app(dir)).get('/').expect(200);

    expect(res.text).toBe('<urumi-root></urumi-root>');
    expect(res.headers['content-security-policy']).toContain("script-src 'self'");
    expect(res.headers['cache-control']).toBe('no-cache');
  });

  it("serves index.html for the console's own routes, so a reload or a shared link works", async () => {
    const res = await request(app(dir)).get('/stores/0f8c1c3e').expect(200);

    expect(res.text).toBe('<urumi-root></urumi-root>');
  });

  it('serves built files, the content-hashed ones cacheable for good', async () => {
    const res = await request(app(dir)).get('/main-FJUNCHZP.js').expect(200);

    expect(res.text).toBe('console.log(1)');
    expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
  });

  it('leaves a missing file and every /api path to the API (its JSON 404)', async () => {
    await request(app(dir)).get('/missing-AAAAAAAA.js').expect(404, { statusCode: 404 });
    await request(app(dir)).get('/api/v1/nothing-here').expect(404, { statusCode: 404 });
    await request(app(dir)).get('/api').expect(404, { statusCode: 404 });
    await request(app(dir)).get('/api/v1/stores').expect(200, { items: [] });
  });

  it('answers only GET and HEAD', async () => {
    await request(app(dir)).post('/stores').expect(404, { statusCode: 404 });
    await request(app(dir)).head('/stores').expect(200);
  });

  it('says how to build the console when it is not built', async () => {
    const res = await request(app(join(dir, 'absent')))
      .get('/')
      .expect(404);

    expect(res.text).toContain('npx nx run console:build');
    expect(res.text).toContain('CONSOLE_DIR');
  });
});
