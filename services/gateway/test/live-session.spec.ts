import { writeFileSync } from 'node:fs';
import { scratchFile } from '@urumi/sandbox';
import request from 'supertest';
import WebSocket from 'ws';
import { LiveStatusServer, TOKEN_ENDED_CLOSE_CODE } from '../src/live/live-status.server';
import { Harness, startGateway, users } from './gateway-harness';
import { IdentityProvider, startIdentityProvider } from './identity-provider';
import { closed, connectLive, opened } from './live-client';

jest.setTimeout(60_000);

describe(LiveStatusServer.name, () => {
  const sockets: WebSocket[] = [];

  afterEach(() => {
    for (const ws of sockets.splice(0)) ws.terminate();
  });

  describe('with OIDC tokens', () => {
    let idp: IdentityProvider;
    let sut: Harness;

    beforeAll(async () => {
      idp = await startIdentityProvider();
      sut = await startGateway(idp.gatewayEnv);
    });

    afterAll(async () => {
      await sut?.close();
      await idp?.close();
    });

    it('closes a session with 4001 when its token expires', async () => {
      const ws = connectLive(sut.url, await idp.sign({ sub: 'short-lived' }, 2));
      sockets.push(ws);

      expect(await opened(ws)).toEqual({ opened: true });
      // Real time: an honest 2-second token, no clock tolerance.
      expect(await closed(ws, 8_000)).toEqual({
        opened: true,
        closeCode: TOKEN_ENDED_CLOSE_CODE,
        closeReason: 'token expired',
      });
    });

    it('keeps a session whose token is still valid', async () => {
      const ws = connectLive(sut.url, await idp.sign({ sub: 'long-lived' }, 300));
      sockets.push(ws);

      expect(await opened(ws)).toEqual({ opened: true });
      await expect(closed(ws, 3_000)).rejects.toThrow('still open after 3000 ms');
    });
  });

  describe('with a tokens file', () => {
    let sut: Harness;
    let tokensFile: string;

    beforeAll(async () => {
      tokensFile = scratchFile('tokens.json', Object.values(users));
      sut = await startGateway({ AUTH_TOKENS_FILE: tokensFile });
    });

    afterAll(() => sut?.close());

    it('closes the sessions of a user removed from the tokens file, and only theirs', async () => {
      const bob = connectLive(sut.url, users.bob.token);
      const alice = connectLive(sut.url, users.alice.token);
      sockets.push(bob, alice);
      expect([await opened(bob), await opened(alice)]).toEqual([{ opened: true }, { opened: true }]);
      const bobClosed = closed(bob, 10_000);

      writeFileSync(tokensFile, JSON.stringify([users.admin, users.alice]));

      expect(await bobClosed).toEqual({
        opened: true,
        closeCode: TOKEN_ENDED_CLOSE_CODE,
        closeReason: 'token revoked',
      });
      expect(alice.readyState).toBe(WebSocket.OPEN);
      const server = sut.app.getHttpServer();
      expect((await request(server).get('/api/v1/me').set('Authorization', `Bearer ${users.bob.token}`)).status).toBe(
        401,
      );
      expect((await request(server).get('/api/v1/me').set('Authorization', `Bearer ${users.alice.token}`)).status).toBe(
        200,
      );
    });
  });
});
