import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { IncomingMessage, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { Authenticator, Principal } from '../auth';
import { GATEWAY_CONFIG, GatewayConfig } from '../config/gateway.config';
import { canSee, ReadModel } from '../read-model/read-model.service';
import type { LiveMessage } from '@urumi/contracts';
import { StoreViews } from '../stores/store-views';

export const LIVE_PATH = '/api/v1/live';
/** The subprotocol the server speaks; browsers send their token as a second one, `bearer.<base64url token>`. */
export const LIVE_PROTOCOL = 'urumi.v1';
const TOKEN_PROTOCOL_PREFIX = 'bearer.';
const HEARTBEAT_MS = 30_000;

/**
 * The live-status WebSocket. The HTTP upgrade is refused (401/403) unless the Origin is allowed and the
 * token authenticates; then the client gets a snapshot of the stores it may see and every change after.
 */
@Injectable()
export class LiveStatusServer implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(LiveStatusServer.name);
  private readonly wss = new WebSocketServer({ noServer: true, handleProtocols: () => LIVE_PROTOCOL });
  private heartbeat?: NodeJS.Timeout;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly authenticator: Authenticator,
    private readonly readModel: ReadModel,
    private readonly views: StoreViews,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  onApplicationBootstrap(): void {
    const server = this.adapterHost.httpAdapter.getHttpServer() as import('node:http').Server;
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => void this.upgrade(req, socket, head));
    this.heartbeat = setInterval(() => this.pingAll(), HEARTBEAT_MS);
  }

  onModuleDestroy(): void {
    clearInterval(this.heartbeat);
    for (const client of this.wss.clients) client.close(1001, 'server shutting down');
    this.wss.close();
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path !== LIVE_PATH) return refuse(socket, 404, 'no WebSocket here');
    const origin = req.headers.origin;
    if (origin !== undefined && !this.config.allowedOrigins.includes(origin)) {
      this.logger.warn({ msg: 'Refused a WebSocket from a foreign origin', origin });
      return refuse(socket, 403, 'origin not allowed');
    }
    const token = tokenOf(req);
    if (!token) return refuse(socket, 401, 'a bearer token is required');
    let principal: Principal;
    try {
      principal = await this.authenticator.authenticate(token);
    } catch {
      return refuse(socket, 401, 'invalid token');
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.serve(ws, principal));
  }

  private serve(ws: WebSocket, principal: Principal): void {
    const alive = ws as WebSocket & { isAlive?: boolean };
    alive.isAlive = true;
    ws.on('pong', () => (alive.isAlive = true));
    const view = this.views.of;
    send(ws, { type: 'snapshot', stores: this.readModel.list(principal).items.map(view) });
    const unsubscribe = this.readModel.subscribe(({ id, store, previous }) => {
      if (store && canSee(principal, store)) send(ws, { type: 'store', store: view(store) });
      else if (!store && previous && canSee(principal, previous)) send(ws, { type: 'deleted', id });
    });
    ws.on('close', unsubscribe);
    ws.on('error', unsubscribe);
  }

  private pingAll(): void {
    for (const client of this.wss.clients as Set<WebSocket & { isAlive?: boolean }>) {
      if (client.isAlive === false) {
        client.terminate();
        continue;
      }
      client.isAlive = false;
      client.ping();
    }
  }
}

function send(ws: WebSocket, message: LiveMessage): void {
  if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message));
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

function refuse(socket: Duplex, status: number, message: string): void {
  const reason = STATUS_CODES[status] ?? 'Error';
  const body = JSON.stringify({ statusCode: status, error: reason, message });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\n` +
      'Content-Type: application/json\r\nConnection: close\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
