export { AUTH_CONFIG, authConfigFromEnv, DEFAULT_PUBLIC_PATHS, OIDC_ALGORITHMS } from './auth.config';
export type { AuthConfig, OidcAlgorithm, OidcAuthConfig, TokensAuthConfig } from './auth.config';
export { CurrentPrincipal, Public, Roles } from './auth.decorators';
export { AuthGuard } from './auth.guard';
export { AuthModule, createAuthenticator } from './auth.module';
export { Authenticator } from './authenticator';
export { OidcAuthenticator } from './oidc.authenticator';
export type { Principal, Role } from './principal';
export { TokensFileAuthenticator } from './tokens-file.authenticator';
