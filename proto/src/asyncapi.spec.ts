import type { DescEnum, DescField, DescMessage } from '@bufbuild/protobuf';
import { createRegistry, ScalarType } from '@bufbuild/protobuf';
import { loadYaml } from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { file_urumi_store_v1_commands } from './gen/urumi/store/v1/commands_pb';
import { file_urumi_store_v1_events } from './gen/urumi/store/v1/events_pb';
import { file_urumi_store_v1_store, Step, StepSchema } from './gen/urumi/store/v1/store_pb';
import { stepSlug } from './steps';

const exec = promisify(execFile);
jest.setTimeout(60_000);
const protoDir = resolve(__dirname, '..');
const repoRoot = resolve(protoDir, '..');
/**
 * The commit that published the v1 contract (proto/EVENTS.md): every change since must keep what a v1 reader reads,
 * by buf's WIRE_JSON rules (proto/buf.yaml).
 */
const V1_BASELINE = 'de60381d9a2525663081d73c9ad7f14274517a71';

interface Schema {
  readonly type?: string;
  readonly format?: string;
  readonly enum?: readonly string[];
  readonly $ref?: string;
  readonly items?: Schema;
  readonly properties?: Readonly<Record<string, Schema & { 'x-proto-number'?: number }>>;
  readonly 'x-proto-message'?: string;
  readonly 'x-proto-enum'?: string;
}

interface AsyncApi {
  readonly asyncapi: string;
  readonly channels: Record<string, { address: string; messages: Record<string, { $ref: string }> }>;
  readonly components: {
    readonly parameters: { step: { enum: string[] } };
    readonly messages: Record<string, { 'x-proto-message': string; payload: { $ref: string } }>;
    readonly schemas: Record<string, Schema>;
  };
}

const registry = createRegistry(file_urumi_store_v1_store, file_urumi_store_v1_commands, file_urumi_store_v1_events);
const schemaName = (ref: string) => ref.replace('#/components/schemas/', '');

/** What protobuf's JSON mapping makes of a field, as JSON Schema, with the document's names for messages and enums. */
function expectedSchema(field: DescField): Schema {
  const scalar = (type: ScalarType): Schema =>
    // 64-bit integers travel as strings in protobuf JSON, the 32-bit ones as numbers.
    [ScalarType.INT32, ScalarType.UINT32, ScalarType.SINT32, ScalarType.FIXED32, ScalarType.SFIXED32].includes(type)
      ? { type: 'integer' }
      : type === ScalarType.BOOL
        ? { type: 'boolean' }
        : { type: 'string' };
  const named = (desc: DescMessage | DescEnum): Schema =>
    desc.typeName === 'google.protobuf.Timestamp'
      ? { type: 'string', format: 'date-time' }
      : { $ref: `#/components/schemas/${desc.name}` };
  switch (field.fieldKind) {
    case 'scalar':
      return scalar(field.scalar);
    case 'enum':
      return named(field.enum);
    case 'message':
      return named(field.message);
    case 'list':
      return {
        type: 'array',
        items:
          field.listKind === 'scalar'
            ? scalar(field.scalar)
            : named(field.listKind === 'enum' ? field.enum : field.message),
      };
    default:
      throw new Error(`${field.name}: a ${field.fieldKind} field has no JSON Schema in this check`);
  }
}

describe('the AsyncAPI document of the store events (proto/asyncapi.yaml)', () => {
  let doc: AsyncApi;

  beforeAll(async () => {
    doc = loadYaml<AsyncApi>(await readFile(join(protoDir, 'asyncapi.yaml'), 'utf8'));
  });

  it('is AsyncAPI 3, with a message on every channel that names its protobuf message', () => {
    expect(doc.asyncapi).toMatch(/^3\./);
    for (const channel of Object.values(doc.channels)) {
      for (const { $ref } of Object.values(channel.messages)) {
        const message = doc.components.messages[$ref.replace('#/components/messages/', '')];
        expect(registry.getMessage(message!['x-proto-message'])).toBeDefined();
      }
    }
    expect(Object.values(doc.channels).map((c) => c.address)).toEqual([
      'store.status.{step}',
      'store.cmd.create',
      'store.cmd.delete',
    ]);
  });

  it('describes every schema exactly as the .proto files define it: names, numbers, types, enum values', () => {
    const checked: string[] = [];
    for (const [name, schema] of Object.entries(doc.components.schemas)) {
      if (schema['x-proto-enum']) {
        const desc = registry.getEnum(schema['x-proto-enum']);
        expect([name, schema.enum]).toEqual([name, desc!.values.map((v) => v.name)]);
        checked.push(name);
      } else if (schema['x-proto-message']) {
        const desc = registry.getMessage(schema['x-proto-message'])!;
        const documented = Object.fromEntries(
          Object.entries(schema.properties ?? {}).map(([json, { 'x-proto-number': number, ...rest }]) => [
            json,
            { number, type: rest.type, format: rest.format, $ref: rest.$ref, items: rest.items },
          ]),
        );
        const defined = Object.fromEntries(
          desc.fields.map((field) => {
            const { type, format, $ref, items } = expectedSchema(field);
            return [field.jsonName, { number: field.number, type, format, $ref, items }];
          }),
        );
        expect([name, documented]).toEqual([name, defined]);
        checked.push(name);
      }
    }
    // Every message and enum a payload refers to is described (and so checked).
    const referred = new Set<string>();
    const walk = (schema: Schema) => {
      if (schema.$ref) referred.add(schemaName(schema.$ref));
      if (schema.items) walk(schema.items);
      for (const property of Object.values(schema.properties ?? {})) walk(property);
    };
    for (const message of Object.values(doc.components.messages))
      walk(doc.components.schemas[schemaName(message.payload.$ref)]!);
    for (const name of referred) expect(checked).toContain(name);
  });

  it('names each step a store.status subject may carry by its slug', () => {
    const slugs = doc.components.parameters.step.enum;
    const steps = StepSchema.values.filter((v) => v.number !== Step.UNSPECIFIED).map((v) => stepSlug(v.number));
    for (const slug of slugs) expect(steps).toContain(slug);
    // Queued and deleting are the gateway's own view of a request; nothing publishes them.
    expect(steps.filter((step) => !slugs.includes(step))).toEqual(['queued', 'deleting']);
  });
});

describe('the compatibility rule: fields are only added', () => {
  let buf = '';
  beforeAll(async () => {
    // As generate.sh finds it (the sandbox toolchain builds it), without depending on the sandbox's code.
    buf = (await exec('npx', ['tsx', 'deploy/sandbox/src/cli.ts', 'path', 'buf'], { cwd: repoRoot })).stdout.trim();
    await exec('git', ['-C', repoRoot, 'cat-file', '-e', `${V1_BASELINE}^{commit}`]).catch(() => {
      throw new Error(`the v1 baseline ${V1_BASELINE} is not in this clone's history (a shallow clone?)`);
    });
  });

  it('keeps every v1 field, number, type and JSON name (buf breaking, WIRE_JSON, against the v1 baseline)', async () => {
    await exec(buf, ['breaking', protoDir, '--against', `${repoRoot}/.git#subdir=proto,ref=${V1_BASELINE}`]);
  });

  it('refuses a field removed or renamed, as a v1 reader would break on it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'urumi-proto-'));
    try {
      await cp(protoDir, dir, { recursive: true, filter: (source) => !/node_modules|\/src$/.test(source) });
      const events = join(dir, 'urumi/store/v1/events.proto');
      const text = await readFile(events, 'utf8');
      await writeFile(
        events,
        text.replace('string request_id = 11;', '').replace('string url = 9;', 'string link = 9;'),
      );
      const broken = await exec(buf, ['breaking', dir, '--against', protoDir]).then(
        () => '',
        (error: { stdout: string }) => error.stdout,
      );
      expect(broken).toMatch(
        /Previously present field "11" with name "request_id" on message "StoreStatusChanged" was deleted/,
      );
      expect(broken).toMatch(/"url".*"link"|json name/i);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
