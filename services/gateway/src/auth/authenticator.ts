import { Principal } from './principal';

/**
 * Turns a bearer token into a Principal, or throws UnauthorizedException with a message a person can act
 * on (never the token itself). Abstract so it is its own injection token.
 */
export abstract class Authenticator {
  abstract authenticate(token: string): Promise<Principal>;

  /**
   * Calls `listener` whenever tokens that were valid may no longer be (the tokens file changed), so that
   * long-lived sessions check theirs again; returns the unsubscribe. Default: credentials never change.
   */
  onCredentialsChanged(_listener: () => void): () => void {
    return () => undefined;
  }
}
