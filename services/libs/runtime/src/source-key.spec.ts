import { sourceKey, UNKNOWN_SOURCE } from './source-key';

describe(sourceKey.name, () => {
  it('keeps an IPv4 address as it is', () => {
    expect(sourceKey('192.0.2.7')).toBe('192.0.2.7');
  });

  it('collapses IPv6 addresses of one /64 to one source, and keeps other /64s apart', () => {
    const first = sourceKey('2001:db8:1:2:aaaa::1');
    expect(first).toBe('2001:db8:1:2::/64');
    expect(sourceKey('2001:DB8:1:2:ffff:ffff:ffff:ffff')).toBe(first);
    expect(sourceKey('2001:db8:1:3::1')).not.toBe(first);
  });

  it('reads an IPv4-mapped IPv6 address as its IPv4 address', () => {
    expect(sourceKey('::ffff:192.0.2.7')).toBe('192.0.2.7');
  });

  it('counts a missing or blank address as the unknown source instead of skipping it', () => {
    expect(sourceKey(undefined)).toBe(UNKNOWN_SOURCE);
    expect(sourceKey('')).toBe(UNKNOWN_SOURCE);
    expect(sourceKey('  ')).toBe(UNKNOWN_SOURCE);
  });

  it('trims the address it is given', () => {
    expect(sourceKey(' 192.0.2.7 ')).toBe('192.0.2.7');
  });
});
