import { ActorSchema, create, CreateStoreCommandSchema } from '@urumi/contracts';
import { sourceKey, UNKNOWN_SOURCE } from '@urumi/runtime';
import { sourceOf } from './ledger';

function fromAddress(sourceIp: string | undefined) {
  return create(CreateStoreCommandSchema, {
    storeId: 'store-1',
    owner: 'alice',
    requestedBy: sourceIp === undefined ? undefined : create(ActorSchema, { user: 'alice', sourceIp }),
  });
}

describe(sourceOf.name, () => {
  it('keys a source as the gateway does: IPv6 per /64', () => {
    expect(sourceOf(fromAddress('2001:db8:1:2:aaaa::1'))).toBe('2001:db8:1:2::/64');
    expect(sourceOf(fromAddress('2001:db8:1:2:bbbb::2'))).toBe(sourceKey('2001:db8:1:2:cccc::3'));
    expect(sourceOf(fromAddress('192.0.2.7'))).toBe('192.0.2.7');
  });

  it('gives a command without an address the unknown source, never an empty one', () => {
    expect(sourceOf(fromAddress(''))).toBe(UNKNOWN_SOURCE);
    expect(sourceOf(fromAddress(undefined))).toBe(UNKNOWN_SOURCE);
  });
});
