import { NatsError } from 'nats';

/** JetStream's "wrong last sequence": the key was written since it was read (or exists, for a create). */
const WRONG_LAST_SEQUENCE = 10071;

/** True when a KV compare-and-set lost to another writer: re-read and try again. */
export function isRevisionConflict(error: unknown): boolean {
  return error instanceof NatsError && error.api_error?.err_code === WRONG_LAST_SEQUENCE;
}
