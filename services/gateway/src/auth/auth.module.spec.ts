import { Controller, Get, INestApplication, Req } from '@nestjs/common';
import { scratchFile } from '@urumi/sandbox';
import { Test } from '@nestjs/testing';
import { ConfigError } from '@urumi/runtime';
import type { FastifyRequest } from 'fastify';
import { fastifyApp } from '../../test/fastify-app';
import request from 'supertest';
import { CurrentPrincipal, Public, Roles } from './auth.decorators';
import { AuthModule } from './auth.module';
import { Authenticator } from './authenticator';
import { Principal } from './principal';

const users = {
  admin: { name: 'ada', role: 'admin', token: 'admin-secret-0123456789abcdef' },
  alice: { name: 'alice', role: 'tenant', token: 'alice-secret-0123456789abcdef' },
} as const;

const bearer = (user: keyof typeof users) => ({ Authorization: `Bearer ${users[user].token}` });

function tokensFile(content: unknown): string {
  return scratchFile('tokens.json', content);
}

@Controller()
class ProbeController {
  @Get('me')
  me(
    @CurrentPrincipal() principal: Principal,
    @Req() req: FastifyRequest,
  ): { principal: Principal; onRequest?: Principal } {
    return { principal, onRequest: req.principal };
  }

  @Public()
  @Get('open')
  open(): { open: boolean } {
    return { open: true };
  }

  @Roles('admin')
  @Get('audit')
  audit(): { audit: boolean } {
    return { audit: true };
  }

  @Get('healthz')
  health(): { status: string } {
    return { status: 'ok' };
  }
}

@Public()
@Controller('docs')
class PublicController {
  @Get()
  docs(): { docs: boolean } {
    return { docs: true };
  }
}

describe(AuthModule.name, () => {
  let sut: INestApplication;
  const http = () => request(sut.getHttpServer());

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [AuthModule.forRoot({ mode: 'tokens', tokensFile: tokensFile(Object.values(users)) })],
      controllers: [ProbeController, PublicController],
    }).compile();
    sut = await fastifyApp(moduleRef);
  });

  afterAll(async () => {
    await sut?.close();
  });

  it('answers 401 with a bearer challenge and a JSON error without a token', async () => {
    const res = await http().get('/me');

    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="urumi"');
    expect(res.body).toEqual({
      statusCode: 401,
      error: 'Unauthorized',
      message: 'a bearer token is required (Authorization: Bearer <token>)',
    });
  });

  it('answers 401 for an Authorization header that is not a bearer token', async () => {
    const res = await http()
      .get('/me')
      .set('Authorization', `Basic ${Buffer.from('alice:pw').toString('base64')}`);

    expect(res.status).toBe(401);
    expect(res.body.message).toBe('the Authorization header must be "Bearer <token>"');
  });

  it('answers 401 with invalid_token for a wrong token, without echoing it', async () => {
    const token = 'wrong-token-0123456789abcdef';
    const res = await http().get('/me').set('Authorization', `Bearer ${token}`);

    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="urumi", error="invalid_token"');
    expect(res.body).toEqual({ statusCode: 401, error: 'Unauthorized', message: 'invalid bearer token' });
    expect(res.text).not.toContain(token);
  });

  it('hands the principal to the handler and keeps it on the request', async () => {
    const res = await http().get('/me').set(bearer('alice'));

    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      principal: { name: 'alice', role: 'tenant' },
      onRequest: { name: 'alice', role: 'tenant' },
    });
  });

  it('answers 403 to a tenant on an admin route, and lets an admin through', async () => {
    const tenant = await http().get('/audit').set(bearer('alice'));
    const admin = await http().get('/audit').set(bearer('admin'));

    expect(tenant.status).toBe(403);
    expect(tenant.body).toEqual({
      statusCode: 403,
      error: 'Forbidden',
      message: 'this needs the admin role; alice is tenant',
    });
    expect(admin.status).toBe(200);
  });

  it('lets requests through to @Public() handlers and controllers, and to the probe paths', async () => {
    expect((await http().get('/open')).status).toBe(200);
    expect((await http().get('/docs')).status).toBe(200);
    expect((await http().get('/healthz')).status).toBe(200);
  });

  it('exports the Authenticator for other entry points (the WebSocket handshake)', async () => {
    await expect(sut.get(Authenticator).authenticate(users.admin.token)).resolves.toEqual({
      name: 'ada',
      role: 'admin',
    });
  });

  it('fails start-up on a malformed tokens file', async () => {
    const compiling = Test.createTestingModule({
      imports: [
        AuthModule.forRoot({
          mode: 'tokens',
          tokensFile: tokensFile([{ name: 'ada', role: 'root', token: users.admin.token }]),
        }),
      ],
    }).compile();

    await expect(compiling).rejects.toThrow(ConfigError);
  });
});
