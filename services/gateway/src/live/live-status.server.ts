import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy, Optional } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { ThrottlerStorage } from '@nestjs/throttler';
import proxyAddr from '@fastify/proxy-addr';
import { IncomingMessage, Server, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { Gauge, Registry } from 'prom-client';
import { WebSocket, WebSocketServer } from 'ws';
import { Authenticator, Principal } from '../auth';
import { GATEWAY_CONFIG, GatewayConfig, trustedHops } from '../config/gateway.config';
import { canSee, ReadModel } from '../read-model/read-model.service';
import type { LiveMessage } from '@urumi/contracts';
import { StoreViewCache } from '../stores/store-view.cache';
import {
  clientIp,
  rateLimitKey,
  THROTTLERS,
  THROTTLING_CONFIG,
  ThrottlingConfig,
  TrackedRequest,
  userTracker,
} from '../throttling';
import { LIVE_CONFIG, LiveConfig } from './live.config';

export const LIVE_PATH = '/api/v1/live';
/** The subprotocol the server speaks; browsers send their token as a second one, `bearer.<base64url token>`. */
export const LIVE_PROTOCOL = 'urumi.v1';
/** The close code of a session whose token expired or was revoked: sign in again, then reconnect. */
export const TOKEN_ENDED_CLOSE_CODE = 4001;
const TOKEN_PROTOCOL_PREFIX = 'bearer.';
const HEARTBEAT_MS = 30_000;
const MINUTE_MS = 60_000;
/** setTimeout's longest delay; a later expiry is re-armed when it fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

interface Session {
  readonly token: string;
  readonly principal: Principal;
  isAlive: boolean;
  expiry?: NodeJS.Timeout;
}

/** An upgrade refused with an HTTP answer instead of a socket. */
class Refusal {
  constructor(
    readonly status: number,
    readonly message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {}
}

/**
 * The live-status WebSocket. The HTTP upgrade counts against the same rate limits as any request and is
 * refused (401/403/429) unless the Origin is allowed, the token authenticates and the user holds fewer
 * than the allowed number of sockets; then the client gets a snapshot of the stores it may see and every
 * change after, until its token expires or is revoked (close code 4001).
 */
@Injectable()
export class LiveStatusServer implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(LiveStatusServer.name);
  private readonly wss: WebSocketServer;
  private readonly sessions = new Map<WebSocket, Session>();
  private readonly connectionsPerUser = new Map<string, number>();
  private heartbeat?: NodeJS.Timeout;
  private stopWatchingCredentials?: () => void;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly authenticator: Authenticator,
    private readonly readModel: ReadModel,
    private readonly views: StoreViewCache,
    @Inject(ThrottlerStorage) private readonly rateLimits: ThrottlerStorage,
    @Inject(THROTTLING_CONFIG) private readonly throttling: ThrottlingConfig,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(LIVE_CONFIG) private readonly live: LiveConfig,
    @Optional() @Inject(Registry) registry?: Registry,
  ) {
    const sessions = this.sessions;
    if (registry) {
      new Gauge({
        name: 'urumi_live_connections',
        help: 'Live-status WebSocket connections open on this replica',
        registers: [registry],
        collect() {
          this.set(sessions.size);
        },
      });
    }
    this.wss = new WebSocketServer({
      noServer: true,
      handleProtocols: () => LIVE_PROTOCOL,
      maxPayload: live.maxPayloadBytes,
    });
  }

  onApplicationBootstrap(): void {
    const server = this.adapterHost.httpAdapter.getHttpServer() as Server;
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => void this.upgrade(req, socket, head));
    this.heartbeat = setInterval(() => this.pingAll(), HEARTBEAT_MS);
    this.stopWatchingCredentials = this.authenticator.onCredentialsChanged(() => void this.recheckSessions());
  }

  onModuleDestroy(): void {
    clearInterval(this.heartbeat);
    this.stopWatchingCredentials?.();
    for (const client of this.wss.clients) client.close(1001, 'server shutting down');
    this.wss.close();
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    // Node drops its own listener on upgrade: without this, a client's reset (ECONNRESET) would crash the process.
    const onSocketError = (error: Error) =>
      this.logger.debug({ msg: 'Live client socket failed', error: String(error) });
    socket.on('error', onSocketError);
    try {
      const session = await this.admit(req);
      if (socket.destroyed) return;
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        socket.off('error', onSocketError);
        this.serve(ws, session);
      });
    } catch (error) {
      if (error instanceof Refusal) return refuse(socket, error);
      this.logger.error({ msg: 'Could not upgrade a live connection', error: String(error) });
      refuse(socket, new Refusal(500, 'internal error'));
    }
  }

  /** Throws a Refusal unless this upgrade may become a session. */
  private async admit(req: IncomingMessage): Promise<Session> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path !== LIVE_PATH) throw new Refusal(404, 'no WebSocket here');
    const client: TrackedRequest = { ip: this.clientAddress(req) };
    await this.count(THROTTLERS.ip, clientIp(client), this.throttling.ipPerMinute, 'requests per IP address');
    const origin = req.headers.origin;
    if (origin !== undefined && !this.config.allowedOrigins.includes(origin)) {
      this.logger.warn({ msg: 'Refused a WebSocket from a foreign origin', origin });
      throw new Refusal(403, 'origin not allowed');
    }
    const token = tokenOf(req);
    if (!token) throw new Refusal(401, 'a bearer token is required');
    let principal: Principal;
    try {
      principal = await this.authenticator.authenticate(token);
    } catch {
      throw new Refusal(401, 'invalid token');
    }
    const user = userTracker({ ...client, principal });
    await this.count(THROTTLERS.user, user, this.throttling.userPerMinute, 'requests per user');
    const held = this.connectionsPerUser.get(principal.name) ?? 0;
    if (held >= this.live.maxConnectionsPerUser) {
      throw new Refusal(429, `too many live connections: at most ${this.live.maxConnectionsPerUser} per user`);
    }
    return { token, principal, isAlive: true };
  }

  /** One hit on the HTTP rate limit of this name; the counters are the ones the HTTP guards use. */
  private async count(throttler: string, tracker: string, limit: number, what: string): Promise<void> {
    let record: Awaited<ReturnType<ThrottlerStorage['increment']>>;
    try {
      record = await this.rateLimits.increment(rateLimitKey(throttler, tracker), MINUTE_MS, limit, 0, throttler);
    } catch {
      // Fail open, as the HTTP limiter does (it logs the outage).
      return;
    }
    if (record.isBlocked) {
      const retry = String(record.timeToBlockExpire);
      throw new Refusal(429, `rate limit exceeded: at most ${limit} ${what} per minute; try again in ${retry} s`, {
        'Retry-After': retry,
      });
    }
  }

  /** The client's address as Fastify reads it for HTTP requests, trusting the same proxies. */
  private clientAddress(req: IncomingMessage): string | undefined {
    return proxyAddr(req, trustedHops(this.config.trustedProxies));
  }

  private serve(ws: WebSocket, session: Session): void {
    const { principal } = session;
    this.sessions.set(ws, session);
    this.connectionsPerUser.set(principal.name, (this.connectionsPerUser.get(principal.name) ?? 0) + 1);
    if (principal.expiresAt) this.closeAt(ws, session, principal.expiresAt);
    ws.on('pong', () => (session.isAlive = true));
    const view = this.views.of;
    this.send(ws, { type: 'snapshot', stores: this.readModel.list(principal).items.map(view) });
    const unsubscribe = this.readModel.subscribe(({ id, store, previous }) => {
      if (store && canSee(principal, store)) this.send(ws, { type: 'store', store: view(store) });
      else if (!store && previous && canSee(principal, previous)) this.send(ws, { type: 'deleted', id });
    });
    ws.once('close', () => {
      unsubscribe();
      clearTimeout(session.expiry);
      this.sessions.delete(ws);
      const left = (this.connectionsPerUser.get(principal.name) ?? 1) - 1;
      if (left > 0) this.connectionsPerUser.set(principal.name, left);
      else this.connectionsPerUser.delete(principal.name);
    });
    ws.on('error', (error) => this.logger.debug({ msg: 'Live client failed', error: String(error) }));
  }

  private closeAt(ws: WebSocket, session: Session, at: Date): void {
    const delay = at.getTime() - Date.now();
    if (delay <= 0) return ws.close(TOKEN_ENDED_CLOSE_CODE, 'token expired');
    session.expiry = setTimeout(() => this.closeAt(ws, session, at), Math.min(delay, MAX_TIMER_MS));
  }

  /** After the credentials changed: every session whose token no longer names the same user and role ends. */
  private async recheckSessions(): Promise<void> {
    for (const [ws, { token, principal }] of this.sessions) {
      let now: Principal | undefined;
      try {
        now = await this.authenticator.authenticate(token);
      } catch {
        now = undefined;
      }
      if (now?.name !== principal.name || now.role !== principal.role) {
        ws.close(TOKEN_ENDED_CLOSE_CODE, 'token revoked');
      }
    }
  }

  /** A client that does not read its messages is dropped, rather than buffered for without bound. */
  private send(ws: WebSocket, message: LiveMessage): void {
    if (ws.readyState !== WebSocket.OPEN) return;
    if (ws.bufferedAmount > this.live.maxBufferedBytes) {
      this.logger.warn({ msg: 'Dropped a live client that does not keep up', buffered: ws.bufferedAmount });
      ws.terminate();
      return;
    }
    ws.send(JSON.stringify(message));
  }

  private pingAll(): void {
    for (const [client, session] of this.sessions) {
      if (!session.isAlive) {
        client.terminate();
        continue;
      }
      session.isAlive = false;
      client.ping();
    }
  }
}

/** From `Sec-WebSocket-Protocol: urumi.v1, bearer.<base64url token>` (browsers) or `Authorization: Bearer` (other clients). */
export function tokenOf(req: IncomingMessage): string | undefined {
  const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
  const encoded = offered.find((p) => p.startsWith(TOKEN_PROTOCOL_PREFIX));
  if (encoded)
    return Buffer.from(encoded.slice(TOKEN_PROTOCOL_PREFIX.length), 'base64url').toString('utf8') || undefined;
  const authorization = req.headers.authorization;
  return authorization?.startsWith('Bearer ') ? authorization.slice('Bearer '.length).trim() || undefined : undefined;
}

function refuse(socket: Duplex, { status, message, headers }: Refusal): void {
  if (!socket.writable) return void socket.destroy();
  const reason = STATUS_CODES[status] ?? 'Error';
  const body = JSON.stringify({ statusCode: status, error: reason, message });
  const extra = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  // Closed once written: a client that never closes its side does not hold the socket open.
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\n` +
      `Content-Type: application/json\r\nConnection: close\r\n${extra.join('')}` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
