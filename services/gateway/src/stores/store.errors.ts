/** What can go wrong with a store request, in the domain's words; the exception filter maps each to HTTP. */
export class StoreNotFoundError extends Error {
  override readonly name = 'StoreNotFoundError';
  constructor(readonly storeId: string) {
    super(`store ${storeId} not found`);
  }
}

export class StoreNameTakenError extends Error {
  override readonly name = 'StoreNameTakenError';
  constructor(readonly storeName: string) {
    super(`store name "${storeName}" is taken; choose another name`);
  }
}

/** The event bus did not durably accept a command: nothing was done, and the client may retry. */
export class CommandNotAcceptedError extends Error {
  override readonly name = 'CommandNotAcceptedError';
  constructor() {
    super('the platform cannot accept requests right now (event bus unavailable); retry shortly');
  }
}
