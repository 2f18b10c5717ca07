import { PoisonMessageError } from './errors';

/**
 * Decodes a message's payload for a handler. A payload that does not decode, or lacks a field the
 * handler cannot do without (empty, zero or an enum's UNSPECIFIED counts as missing), can never be
 * handled: it is poison, dead-lettered at once rather than redelivered.
 */
export function decodePayload<T extends object>(
  what: string,
  decode: () => T,
  required: readonly (keyof T & string)[] = [],
): T {
  let value: T;
  try {
    value = decode();
  } catch {
    throw new PoisonMessageError(`the payload is not a ${what}`);
  }
  const missing = required.filter((field) => !value[field]);
  if (missing.length > 0) throw new PoisonMessageError(`the ${what} has no ${missing.join(', ')}`);
  return value;
}
