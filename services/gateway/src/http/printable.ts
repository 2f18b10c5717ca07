const CONTROL_OR_SEPARATOR = /[\p{Cc}\u2028\u2029]/gu;

/**
 * User input as it may appear in an error message: at most `max` characters (then `…`), with control and
 * line-separator characters shown as `\uXXXX`, so an answer never echoes a 10 kB name, a NUL or a forged line.
 */
export function printable(input: string, max = 64): string {
  const characters = [...input];
  const bounded = characters.length > max ? `${characters.slice(0, max).join('')}…` : input;
  return bounded.replace(CONTROL_OR_SEPARATOR, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
