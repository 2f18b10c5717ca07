import { DestroyRef, inject, Injectable, InjectionToken, signal } from '@angular/core';
import { LiveMessage } from './api.types';
import { Session } from './session';
import { StoreState } from './store-state';

export type LiveState = 'offline' | 'connecting' | 'online';

/** Opens a WebSocket (a fake one in tests). */
export const WEB_SOCKET = new InjectionToken<(url: string, protocols: string[]) => WebSocket>('WEB_SOCKET', {
  providedIn: 'root',
  factory: () => (url, protocols) => new WebSocket(url, protocols),
});

/** Reconnect delays: doubling from `initialMs` up to `maxMs`, plus up to `initialMs` of jitter. */
export const LIVE_BACKOFF = new InjectionToken<{ initialMs: number; maxMs: number }>('LIVE_BACKOFF', {
  providedIn: 'root',
  factory: () => ({ initialMs: 500, maxMs: 15_000 }),
});

export const LIVE_PATH = '/api/v1/live';
const PROTOCOL = 'urumi.v1';

/**
 * The gateway's live-status stream: a snapshot of the user's stores, then every change, pushed into
 * StoreState. No polling: when the socket drops it reconnects by itself with backoff, and `state` says
 * whether the page is live.
 */
@Injectable({ providedIn: 'root' })
export class LiveStatus {
  private readonly session = inject(Session);
  private readonly stores = inject(StoreState);
  private readonly open = inject(WEB_SOCKET);
  private readonly backoff = inject(LIVE_BACKOFF);
  private socket?: WebSocket;
  private retryTimer?: ReturnType<typeof setTimeout>;
  private attempts = 0;
  private wanted = false;

  readonly state = signal<LiveState>('offline');
  /** When the next reconnect attempt happens (epoch ms), while offline. */
  readonly retryAt = signal<number | null>(null);

  constructor() {
    const reconnectNow = () => {
      if (this.wanted && this.state() === 'offline') this.reconnect(0);
    };
    globalThis.addEventListener?.('online', reconnectNow);
    inject(DestroyRef).onDestroy(() => {
      globalThis.removeEventListener?.('online', reconnectNow);
      this.disconnect();
    });
  }

  connect(): void {
    this.wanted = true;
    if (!this.socket) this.openSocket();
  }

  disconnect(): void {
    this.wanted = false;
    clearTimeout(this.retryTimer);
    this.retryAt.set(null);
    const socket = this.socket;
    this.socket = undefined;
    socket?.close(1000, 'signed out');
    this.state.set('offline');
    this.attempts = 0;
  }

  private openSocket(): void {
    const token = this.session.token();
    if (!token) return;
    this.state.set('connecting');
    this.retryAt.set(null);
    const { protocol, host } = globalThis.location;
    const url = `${protocol === 'https:' ? 'wss' : 'ws'}://${host}${LIVE_PATH}`;
    let socket: WebSocket;
    try {
      socket = this.open(url, [PROTOCOL, `bearer.${base64url(token)}`]);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      if (this.socket !== socket) return;
      this.attempts = 0;
      this.state.set('online');
    };
    socket.onmessage = (event: MessageEvent) => {
      if (this.socket === socket) this.receive(event.data);
    };
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      this.scheduleReconnect();
    };
  }

  private receive(data: unknown): void {
    if (typeof data !== 'string') return;
    let message: LiveMessage;
    try {
      message = JSON.parse(data) as LiveMessage;
    } catch {
      return;
    }
    switch (message.type) {
      case 'snapshot':
        this.stores.applySnapshot(message.stores);
        break;
      case 'store':
        this.stores.upsert(message.store);
        break;
      case 'deleted':
        this.stores.remove(message.id);
        break;
    }
  }

  private scheduleReconnect(): void {
    this.state.set('offline');
    if (!this.wanted) return;
    const { initialMs, maxMs } = this.backoff;
    const delay = Math.min(maxMs, initialMs * 2 ** this.attempts) + Math.floor(Math.random() * initialMs);
    this.attempts++;
    this.reconnect(delay);
  }

  private reconnect(delayMs: number): void {
    clearTimeout(this.retryTimer);
    this.retryAt.set(Date.now() + delayMs);
    this.retryTimer = setTimeout(() => {
      if (this.wanted && !this.socket) this.openSocket();
    }, delayMs);
  }
}

/** The token as a WebSocket subprotocol may carry it: `bearer.<base64url of its UTF-8 bytes>`. */
export function base64url(text: string): string {
  const binary = Array.from(new TextEncoder().encode(text), (b) => String.fromCharCode(b)).join('');
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
