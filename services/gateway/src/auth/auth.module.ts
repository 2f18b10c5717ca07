import { DynamicModule, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AUTH_CONFIG, AuthConfig } from './auth.config';
import { AuthGuard } from './auth.guard';
import { Authenticator } from './authenticator';
import { MeController } from './me.controller';
import { OidcAuthenticator } from './oidc.authenticator';
import { TokensFileAuthenticator } from './tokens-file.authenticator';

export function createAuthenticator(config: AuthConfig): Promise<Authenticator> {
  return config.mode === 'tokens'
    ? TokensFileAuthenticator.load(config.tokensFile)
    : Promise.resolve(new OidcAuthenticator(config));
}

/**
 * Bearer-token authentication for every HTTP route (a global guard), GET /api/v1/me, and the
 * Authenticator for other entry points such as the WebSocket handshake. A bad tokens file or OIDC
 * setting fails start-up.
 */
@Module({})
export class AuthModule {
  static forRoot(config: AuthConfig): DynamicModule {
    return {
      module: AuthModule,
      global: true,
      controllers: [MeController],
      providers: [
        { provide: AUTH_CONFIG, useValue: config },
        { provide: Authenticator, useFactory: () => createAuthenticator(config) },
        { provide: APP_GUARD, useClass: AuthGuard },
      ],
      exports: [Authenticator, AUTH_CONFIG],
    };
  }
}
