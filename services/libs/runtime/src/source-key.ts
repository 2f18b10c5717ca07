import { normalizeIp } from '@nestjs/throttler';

/** The bucket of requests that carry no client address: counted together, never exempt. */
export const UNKNOWN_SOURCE = 'unknown';

/**
 * What per-source limits count, the same in the gateway and in quota: an IPv4 address, an IPv6 address
 * collapsed to its /64 (one host usually holds the whole prefix; IPv4-mapped ones read as IPv4), or
 * UNKNOWN_SOURCE when there is no address, so that an empty one never skips a check.
 */
export function sourceKey(address: string | undefined): string {
  const trimmed = address?.trim();
  return trimmed ? normalizeIp(trimmed, 64) : UNKNOWN_SOURCE;
}
