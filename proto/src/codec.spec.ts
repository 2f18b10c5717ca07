import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { decode, encode } from './codec';
import { CreateStoreCommandSchema } from './gen/urumi/store/v1/commands_pb';
import { Engine } from './gen/urumi/store/v1/store_pb';

describe('codec', () => {
  const command = create(CreateStoreCommandSchema, {
    storeId: 'st-1',
    name: 'fashion-boutique',
    engine: Engine.WOOCOMMERCE,
    owner: 'alice',
    requestedBy: { user: 'alice', role: 'tenant', sourceIp: '127.0.0.1' },
    requestId: 'req-1',
    requestedAt: timestampFromDate(new Date('2026-11-27T10:00:00Z')),
  });

  it('round-trips a message through readable JSON', () => {
    const json = encode(CreateStoreCommandSchema, command);

    expect(json).toMatchObject({ storeId: 'st-1', engine: 'ENGINE_WOOCOMMERCE', requestedAt: '2026-11-27T10:00:00Z' });
    expect(decode(CreateStoreCommandSchema, JSON.parse(JSON.stringify(json)))).toEqual(command);
  });

  it('ignores fields a newer producer added', () => {
    const json = { ...(encode(CreateStoreCommandSchema, command) as object), addedInV1_1: true };

    expect(decode(CreateStoreCommandSchema, json).name).toBe('fashion-boutique');
  });

  it('reads an enum value it does not know as unspecified, for the consumer to refuse', () => {
    expect(decode(CreateStoreCommandSchema, { engine: 'ENGINE_SHOPIFY' }).engine).toBe(Engine.UNSPECIFIED);
  });

  it('throws on a value that is not the message', () => {
    expect(() => decode(CreateStoreCommandSchema, { storeId: 42 })).toThrow();
    expect(() => decode(CreateStoreCommandSchema, 'not an object')).toThrow();
  });
});
