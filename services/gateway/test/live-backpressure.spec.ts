import { HttpAdapterHost } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { ThrottlerStorage } from '@nestjs/throttler';
import { create, StoreSchema } from '@urumi/contracts';
import type { Server } from 'node:http';
import { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import type { Authenticator } from '../src/auth';
import { gatewayConfigFromEnv } from '../src/config/gateway.config';
import { liveConfigFromEnv } from '../src/live/live.config';
import { LiveStatusServer } from '../src/live/live-status.server';
import type { ReadModel, StoreListener } from '../src/read-model/read-model.service';
import type { StoreChange } from '../src/read-model/store.repository';
import type { StoreViewCache } from '../src/stores/store-view.cache';
import { throttlingConfigFromEnv } from '../src/throttling';
import { closed, connectLive, opened } from './live-client';

const MAX_BUFFERED_BYTES = 256 * 1024;
const CHANGES = 400;
const PADDING = 'x'.repeat(64 * 1024);

/**
 * A client that stops reading, against the real server and a real socket; the read model is a stand-in
 * that can push changes faster than any socket drains them.
 */
describe(`${LiveStatusServer.name} backpressure`, () => {
  let server: Server;
  let url: string;
  let sut: LiveStatusServer;
  const listeners = new Set<StoreListener>();

  beforeAll(async () => {
    const adapter = new FastifyAdapter();
    server = adapter.getHttpServer() as Server;
    const readModel = {
      list: () => ({ items: [] }),
      subscribe: (listener: StoreListener) => {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    } as unknown as ReadModel;
    const views = { of: (store: { id: string }) => ({ id: store.id, padding: PADDING }) } as unknown as StoreViewCache;
    const authenticator = {
      authenticate: async () => ({ name: 'alice', role: 'tenant' }),
      onCredentialsChanged: () => () => undefined,
    } as unknown as Authenticator;
    const rateLimits: ThrottlerStorage = {
      increment: async () => ({ totalHits: 1, timeToExpire: 60, isBlocked: false, timeToBlockExpire: 0 }),
    };
    sut = new LiveStatusServer(
      Object.assign(new HttpAdapterHost(), { httpAdapter: adapter }),
      authenticator,
      readModel,
      views,
      rateLimits,
      throttlingConfigFromEnv({}),
      gatewayConfigFromEnv({ ALLOWED_ORIGINS: 'http://console.test' }),
      liveConfigFromEnv({ LIVE_MAX_BUFFERED_BYTES: String(MAX_BUFFERED_BYTES) }),
    );
    sut.onApplicationBootstrap();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    sut.onModuleDestroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const sockets: WebSocket[] = [];

  afterEach(() => {
    for (const ws of sockets.splice(0)) ws.terminate();
  });

  it('drops a client that stops reading instead of buffering for it without bound', async () => {
    const ws = connectLive(url, 'any-token');
    sockets.push(ws);
    let received = 0;
    ws.on('message', () => received++);
    expect(await opened(ws)).toEqual({ opened: true });
    const end = closed(ws, 10_000);
    const socket = (ws as WebSocket & { _socket: import('node:net').Socket })._socket;
    socket.pause();

    // 400 changes of 64 KiB: 25 MiB, far more than the kernel's socket buffers hold.
    for (let i = 0; i < CHANGES; i++) {
      const store = create(StoreSchema, { id: `store-${i}`, owner: 'alice' });
      for (const listener of listeners) listener({ id: store.id, store, revision: i + 1 } satisfies StoreChange);
    }
    socket.resume();

    expect((await end).closeCode).toBe(1006);
    expect(received).toBeGreaterThan(0);
    expect(received).toBeLessThan(CHANGES);
  });
});
