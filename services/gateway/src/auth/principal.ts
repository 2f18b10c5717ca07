export type Role = 'admin' | 'tenant';

export const ROLES: readonly Role[] = ['admin', 'tenant'];

/** Who is calling: tenants act on their own stores, admins on every store. */
export interface Principal {
  /** The immutable identity stores are owned by and limits count against (never a claim the user can edit). */
  readonly name: string;
  readonly role: Role;
  /** What a person reads (an OIDC `preferred_username`); default: `name`. Never used to decide anything. */
  readonly displayName?: string;
  /** When the token stops being accepted (OIDC `exp` plus the clock tolerance): live sessions end then. */
  readonly expiresAt?: Date;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the AuthGuard once the bearer token is verified; read by the rate limiter, idempotency and logs. */
    principal?: Principal;
  }
}
