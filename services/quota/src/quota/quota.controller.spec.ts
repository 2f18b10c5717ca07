import { CreateStoreCommandSchema, encode, Engine } from '@urumi/contracts';
import { PoisonMessageError } from '@urumi/messaging';
import { aCreateCommand } from '../../test/support';
import { parseCreateCommand, parseStatusChange } from './quota.controller';

const aCommandJson = (changes: Record<string, unknown> = {}) => ({
  ...(encode(CreateStoreCommandSchema, aCreateCommand()) as Record<string, unknown>),
  ...changes,
});

describe(parseCreateCommand.name, () => {
  it('decodes a complete command', () => {
    const sut = parseCreateCommand(aCommandJson({ engine: 'ENGINE_MEDUSA' }));

    expect(sut).toMatchObject({ owner: 'alice', engine: Engine.MEDUSA });
  });

  it.each([
    ['not a command', 'shop'],
    ['a field of the wrong type', aCommandJson({ storeId: 42 })],
    ['an unknown engine', aCommandJson({ engine: 'ENGINE_MAGENTO' })],
    ['no store id', aCommandJson({ storeId: '' })],
    ['no name', aCommandJson({ name: '' })],
    ['no owner', aCommandJson({ owner: '' })],
    ['no engine', aCommandJson({ engine: 'ENGINE_UNSPECIFIED' })],
  ])('treats a command with %s as poison', (_, payload) => {
    expect(() => parseCreateCommand(payload)).toThrow(PoisonMessageError);
  });
});

describe(parseStatusChange.name, () => {
  it.each([
    ['a store id', { owner: 'alice', step: 'STEP_DELETED' }],
    ['an owner', { storeId: 'store-1', step: 'STEP_DELETED' }],
  ])('treats an event without %s as poison', (_, payload) => {
    expect(() => parseStatusChange(payload)).toThrow(PoisonMessageError);
  });
});
