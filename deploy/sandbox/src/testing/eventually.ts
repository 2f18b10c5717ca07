import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Retries `assertion` every `intervalMs` until it passes, and returns what it returned; when
 * `timeoutMs` runs out, throws its last failure.
 */
export async function eventually<T>(assertion: () => T | Promise<T>, timeoutMs = 10_000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await assertion();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(intervalMs);
    }
  }
}
