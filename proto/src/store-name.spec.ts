import { RESERVED_STORE_NAMES, reservedStoreNames, storeNameProblem } from './store-name';

describe(storeNameProblem.name, () => {
  it.each(['abc', 'fashion-boutique', 'a1-b2', 'x'.repeat(40), '123'])('accepts %s', (name) => {
    expect(storeNameProblem(name)).toBeUndefined();
  });

  it.each([
    ['ab', /3–40 characters/],
    ['x'.repeat(41), /3–40 characters/],
    ['Fashion', /lowercase letters/],
    ['-shop', /start and end/],
    ['shop-', /start and end/],
    ['my_shop', /lowercase letters/],
    ['shöp', /lowercase letters/],
    ['admin', /reserved/],
  ])('rejects %s', (name, message) => {
    expect(storeNameProblem(name)).toMatch(message);
  });
});

describe(reservedStoreNames.name, () => {
  it("adds each platform host's first label, and the label a store under the base domain would take", () => {
    const sut = reservedStoreNames(
      ['Portal.example.com', 'grafana.stores.example.com', 'api.shop-admin.stores.example.com'],
      'stores.example.com',
    );
    expect([...sut].filter((name) => !RESERVED_STORE_NAMES.has(name)).sort()).toEqual([
      'grafana',
      'portal',
      'shop-admin',
    ]);
    expect([...RESERVED_STORE_NAMES].every((name) => sut.has(name))).toBe(true);
  });

  it('refuses a store named like the console host, through storeNameProblem', () => {
    const sut = reservedStoreNames(['backoffice.127.0.0.1.nip.io'], '127.0.0.1.nip.io');
    expect([storeNameProblem('backoffice', sut), storeNameProblem('backoffice')]).toEqual([
      'name "backoffice" is reserved',
      undefined,
    ]);
  });
});
