export type Role = 'admin' | 'tenant';

export const ROLES: readonly Role[] = ['admin', 'tenant'];

/** Who is calling: tenants act on their own stores, admins on every store. */
export interface Principal {
  readonly name: string;
  readonly role: Role;
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace -- Express's own extension point for request fields
  namespace Express {
    interface Request {
      /** Set by the AuthGuard once the bearer token is verified; read by the rate limiter, idempotency and logs. */
      principal?: Principal;
    }
  }
}
