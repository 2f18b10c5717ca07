import { printable } from '../http/printable';

/** What can go wrong with a store request, in the domain's words; the exception filter maps each to HTTP. */
export class StoreNotFoundError extends Error {
  override readonly name = 'StoreNotFoundError';
  constructor(readonly storeId: string) {
    super(`store ${printable(storeId)} not found`);
  }
}

export class StoreNameTakenError extends Error {
  override readonly name = 'StoreNameTakenError';
  constructor(readonly storeName: string) {
    super(`store name "${storeName}" is taken; choose another name`);
  }
}

/** A retried create whose store, created by its first run, has been deleted since: a new request creates another. */
export class StoreDeletedSinceError extends Error {
  override readonly name = 'StoreDeletedSinceError';
  constructor(readonly storeId: string) {
    super(
      `this request already created store ${storeId}, which has been deleted since; ` +
        'to create the store again, send a new request with another Idempotency-Key',
    );
  }
}

/** A name the platform keeps for one of its own hosts: invalid, as any bad name is (the DTO checked the rest). */
export class StoreNameReservedError extends Error {
  override readonly name = 'StoreNameReservedError';
}

/**
 * The event bus did not confirm a command. Either it surely refused it (nothing was done), or it stopped
 * answering (`inDoubt`): the command may have been stored, so the store's name stays held by that store
 * id, and a retry with the same Idempotency-Key resolves to the same store.
 */
export class CommandNotAcceptedError extends Error {
  override readonly name = 'CommandNotAcceptedError';
  constructor(readonly inDoubt = false) {
    super(
      inDoubt
        ? 'the platform could not confirm the request (event bus not answering); retry with the same Idempotency-Key'
        : 'the platform cannot accept requests right now (event bus unavailable); retry shortly',
    );
  }
}
