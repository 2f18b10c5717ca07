import createClient from 'openapi-fetch';
import { scratchFile } from '@urumi/sandbox';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { runInThisContext } from 'node:vm';
import request from 'supertest';
import ts from 'typescript';
import { bearer, Harness, startGateway, uniqueStoreName, users } from './gateway-harness';

jest.setTimeout(90_000);

interface Drive {
  readonly created: { status: number; id: string; name: string; step: string };
  readonly fetched: { status: number; id: string };
  readonly listedIds: string[];
  readonly deleted: { status: number; step: string };
  readonly refused: { status: number; error: unknown };
}

/** A client as a consumer of the API writes it against the types generated from the document. */
const CLIENT_SOURCE = `
import type createClient from 'openapi-fetch';
import type { components, paths } from './schema';

type ErrorResponse = components['schemas']['ErrorResponse'];

export async function drive(create: typeof createClient, baseUrl: string, token: string, name: string) {
  const client = create<paths>({ baseUrl, headers: { Authorization: \`Bearer \${token}\` } });
  const created = await client.POST('/api/v1/stores', { body: { name, engine: 'medusa' } });
  if (!created.data) throw new Error(\`create answered \${created.response.status}\`);
  const id: string = created.data.id;
  const fetched = await client.GET('/api/v1/stores/{id}', { params: { path: { id } } });
  const listed = await client.GET('/api/v1/stores', { params: { query: { limit: 500, status: 'queued' } } });
  const deleted = await client.DELETE('/api/v1/stores/{id}', { params: { path: { id } } });
  const refused = await client.POST('/api/v1/stores', { body: { name: 'ab', engine: 'woocommerce' } });
  const error: ErrorResponse | undefined = refused.error;
  return {
    created: { status: created.response.status, id, name: created.data.name, step: created.data.step },
    fetched: { status: fetched.response.status, id: fetched.data?.id ?? '' },
    listedIds: (listed.data?.items ?? []).map((store) => store.id),
    deleted: { status: deleted.response.status, step: deleted.data?.step ?? '' },
    refused: { status: refused.response.status, error },
  };
}

/** Never run: the document's constraints, as the compiler enforces them. */
export function refusedByTheTypes(client: ReturnType<typeof createClient<paths>>) {
  // @ts-expect-error an engine the document does not list
  void client.POST('/api/v1/stores', { body: { name: 'shop', engine: 'magento' } });
  // @ts-expect-error limit is an integer, not text
  void client.GET('/api/v1/stores', { params: { query: { limit: 'ten' } } });
  // @ts-expect-error status is a step
  void client.GET('/api/v1/stores', { params: { query: { status: 'sleeping' } } });
}
`;

/** openapi-typescript's own command line (its CommonJS build loads ES modules, which Jest's require cannot). */
function generateSchema(dir: string, document: unknown): void {
  const packageJson = require.resolve('openapi-typescript/package.json');
  const { bin } = require(packageJson) as { bin: Record<string, string> };
  writeFileSync(join(dir, 'openapi.json'), JSON.stringify(document));
  execFileSync(
    process.execPath,
    [join(dirname(packageJson), bin['openapi-typescript']!), 'openapi.json', '-o', 'schema.ts'],
    {
      cwd: dir,
      stdio: 'pipe',
    },
  );
}

/** Type errors of the generated schema and the client, as tsc would report them. */
function typeErrors(dir: string): string[] {
  // Their ES module typings, as a consumer's bundler resolves them.
  const typesOf = (name: string, from: string) =>
    join(dirname(require.resolve(`${name}/package.json`, { paths: [from] })), 'dist/index.d.mts');
  const fetchTypes = typesOf('openapi-fetch', __dirname);
  const program = ts.createProgram([join(dir, 'client.ts')], {
    strict: true,
    noEmit: true,
    noUnusedLocals: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
    types: [],
    skipLibCheck: true,
    paths: {
      'openapi-fetch': [fetchTypes],
      'openapi-typescript-helpers': [typesOf('openapi-typescript-helpers', dirname(fetchTypes))],
    },
  });
  return ts
    .getPreEmitDiagnostics(program)
    .map((d) => `${d.file?.fileName ?? ''}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
}

/** The client's module, compiled as it type-checked, with the real openapi-fetch. */
function loadClient(): { drive: (...args: unknown[]) => Promise<Drive> } {
  const { outputText } = ts.transpileModule(CLIENT_SOURCE, {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
  });
  const exports = {};
  (runInThisContext(`(function (exports, require) {${outputText}\n})`) as (e: object, r: NodeRequire) => void)(
    exports,
    require,
  );
  return exports as { drive: (...args: unknown[]) => Promise<Drive> };
}

describe('the OpenAPI document', () => {
  let gateway: Harness;
  let document: {
    paths: Record<string, Record<string, { responses: Record<string, unknown>; parameters?: unknown[] }>>;
    components: { schemas: Record<string, Record<string, unknown>> };
  };
  const http = () => request(gateway.app.getHttpServer());

  beforeAll(async () => {
    gateway = await startGateway();
    document = (await http().get('/api/docs/openapi.json').expect(200)).body;
  });

  afterAll(() => gateway?.close());

  const errorAnswer = (description: string) => ({
    description,
    content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorResponse' } } },
  });

  it('lists every status each store operation answers, each error with the error schema', () => {
    const statuses = (path: string, method: string) => Object.keys(document.paths[path]![method]!.responses).sort();

    expect(statuses('/api/v1/stores', 'post')).toEqual(['202', '400', '401', '409', '413', '415', '422', '429', '503']);
    expect(statuses('/api/v1/stores', 'get')).toEqual(['200', '400', '401', '429', '503']);
    expect(statuses('/api/v1/stores/{id}', 'get')).toEqual(['200', '401', '404', '429', '503']);
    expect(statuses('/api/v1/stores/{id}', 'delete')).toEqual(['202', '400', '401', '404', '409', '422', '429', '503']);
    expect(statuses('/api/v1/audit', 'get')).toEqual(['200', '400', '401', '403', '429', '503']);
    expect(document.paths['/api/v1/stores']!['post']!.responses['400']).toEqual(
      errorAnswer('the request is invalid; the message names the field and the rule'),
    );
    expect(document.components.schemas['ErrorResponse']).toEqual({
      type: 'object',
      properties: {
        statusCode: { type: 'integer', minimum: 400, maximum: 599, example: 400 },
        error: { type: 'string', example: 'Bad Request' },
        message: { type: 'string', example: 'name must be 3–40 characters long' },
      },
      required: ['statusCode', 'error', 'message'],
      additionalProperties: false,
    });
  });

  it("carries the validator's constraints in the request schemas", () => {
    const body = document.components.schemas['CreateStoreDto']!;
    const parameters = document.paths['/api/v1/stores']!['get']!.parameters as { name: string; schema: unknown }[];

    expect(body).toMatchObject({
      required: ['name', 'engine'],
      additionalProperties: false,
      properties: {
        name: { type: 'string', minLength: 3, maxLength: 40, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$' },
        engine: { type: 'string', enum: ['woocommerce', 'medusa'] },
      },
    });
    expect(Object.fromEntries(parameters.map((parameter) => [parameter.name, parameter.schema]))).toEqual({
      status: {
        type: 'string',
        example: 'ready',
        enum: [
          'queued',
          'approved',
          'rejected',
          'namespace-ready',
          'secrets-ready',
          'workload-installed',
          'ready',
          'failed',
          'deleting',
          'deleted',
        ],
      },
      limit: { type: 'integer', default: 100, minimum: 1, maximum: 500 },
      after: { type: 'string' },
    });
  });

  it('generates a client that compiles and drives the gateway: create, get, list, delete, and a 400', async () => {
    const dir = dirname(scratchFile('client.ts', CLIENT_SOURCE));
    generateSchema(dir, document);

    const errors = typeErrors(dir);
    const name = uniqueStoreName('client');
    const sut = await loadClient().drive(createClient, gateway.url, users.alice.token, name);

    expect(errors).toEqual([]);
    expect(sut.created).toEqual({ status: 202, id: expect.any(String), name, step: 'queued' });
    expect(sut.fetched).toEqual({ status: 200, id: sut.created.id });
    expect(sut.listedIds).toContain(sut.created.id);
    expect(sut.deleted).toEqual({ status: 202, step: 'deleting' });
    expect(sut.refused).toEqual({
      status: 400,
      error: { statusCode: 400, error: 'Bad Request', message: 'name must be 3–40 characters long' },
    });
  });
});

describe('error messages', () => {
  let gateway: Harness;
  const http = () => request(gateway.app.getHttpServer());

  beforeAll(async () => {
    gateway = await startGateway();
  });

  afterAll(() => gateway?.close());

  const CONTROL = /[\p{Cc}\u2028\u2029]/u;
  // The body limit is 8 KiB: 10 kB is refused whole, 7 kB reaches the validator.
  const hostile = (kilobytes: number) => `evil\u0000\n\u2028${'x'.repeat(kilobytes * 1024)}`;

  it.each([
    [
      'a 10 kB name with NUL and newline',
      { name: hostile(10), engine: 'medusa' },
      413,
      'request body is larger than 8192 bytes',
    ],
    [
      'a 7 kB name with NUL and newline',
      { name: hostile(7), engine: 'medusa' },
      400,
      'name must be 3–40 characters long',
    ],
    [
      'a short name with NUL and newline',
      { name: 'ab\u0000\nc', engine: 'medusa' },
      400,
      'name may contain only lowercase letters, digits and hyphens, and must start and end with a letter or digit',
    ],
    [
      'an unknown property of 7 kB named with NUL and newline',
      { name: 'fine-name', engine: 'medusa', [hostile(7)]: 1 },
      400,
      `property evil\\u0000\\u000a\\u2028${'x'.repeat(57)}… should not exist`,
    ],
  ])('answers %s with a bounded, escaped message', async (_, body, status, message) => {
    const res = await http().post('/api/v1/stores').set(bearer('alice')).send(body);

    expect(res.body).toEqual({
      statusCode: status,
      error: status === 413 ? 'Payload Too Large' : 'Bad Request',
      message,
    });
    expect(res.body.message).not.toMatch(CONTROL);
  });

  it('quotes a hostile store id bounded and escaped', async () => {
    const res = await http()
      .get(`/api/v1/stores/${encodeURIComponent(`id\u0000\n${'y'.repeat(5000)}`)}`)
      .set(bearer('alice'));

    expect(res.status).toBe(404);
    expect(res.body.message).toBe(`store id\\u0000\\u000a${'y'.repeat(60)}… not found`);
  });
});
