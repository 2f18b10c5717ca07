import WebSocket from 'ws';
import { LIVE_PATH, LIVE_PROTOCOL } from '../src/live/live-status.server';

/** How a live connection ended, or how its upgrade was refused. */
export interface LiveOutcome {
  readonly opened: boolean;
  /** The HTTP status of a refused upgrade. */
  readonly status?: number;
  readonly body?: string;
  readonly closeCode?: number;
  readonly closeReason?: string;
}

/** A browser-like client: the token rides in the subprotocol list, the Origin header is set. */
export function connectLive(
  baseUrl: string,
  token: string,
  { origin = 'http://console.test', headers = {} }: { origin?: string; headers?: Record<string, string> } = {},
): WebSocket {
  const encoded = Buffer.from(token).toString('base64url');
  return new WebSocket(`${baseUrl.replace(/^http/, 'ws')}${LIVE_PATH}`, [LIVE_PROTOCOL, `bearer.${encoded}`], {
    origin,
    headers,
  });
}

/** Resolves once the socket opened, or with the refusal of its upgrade. */
export function opened(ws: WebSocket): Promise<LiveOutcome> {
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ opened: true }));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      res.on('end', () => resolve({ opened: false, status: res.statusCode, body }));
    });
    ws.once('error', reject);
  });
}

/** Resolves with the close code and reason, or rejects when the socket is still open after `timeoutMs`. */
export function closed(ws: WebSocket, timeoutMs: number): Promise<LiveOutcome> {
  return new Promise((resolve, reject) => {
    if (ws.readyState === WebSocket.CLOSED) return reject(new Error('already closed before waiting'));
    const timer = setTimeout(() => reject(new Error(`still open after ${timeoutMs} ms`)), timeoutMs);
    ws.once('close', (code, reason) => {
      clearTimeout(timer);
      resolve({ opened: true, closeCode: code, closeReason: reason.toString('utf8') });
    });
  });
}
