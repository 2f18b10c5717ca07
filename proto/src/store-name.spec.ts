import { storeNameProblem } from './store-name';

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
