import { provideHttpClient } from '@angular/common/http';
import { provideHttpClientTesting } from '@angular/common/http/testing';
import { TestBed } from '@angular/core/testing';
import { aStore, MemoryStorage } from '../testing';
import { LIVE_BACKOFF, LiveStatus, WEB_SOCKET } from './live-status';
import { Session, SESSION_STORAGE } from './session';
import { StoreState } from './store-state';

/** Stands in for the browser's WebSocket: the test opens, feeds and drops it. */
class FakeSocket {
  onopen: (() => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: (() => void) | null = null;
  closed = false;

  constructor(
    readonly url: string,
    readonly protocols: string[],
  ) {}

  open(): void {
    this.onopen?.();
  }
  send(message: unknown): void {
    this.onmessage?.({ data: JSON.stringify(message) });
  }
  drop(): void {
    this.onclose?.();
  }
  close(): void {
    this.closed = true;
  }
}

describe(LiveStatus.name, () => {
  let sockets: FakeSocket[];
  let sut: LiveStatus;
  let stores: StoreState;
  const latest = () => sockets[sockets.length - 1]!;

  beforeEach(() => {
    jest.useFakeTimers();
    jest.spyOn(Math, 'random').mockReturnValue(0);
    sockets = [];
    TestBed.configureTestingModule({
      providers: [
        provideHttpClient(),
        provideHttpClientTesting(),
        { provide: SESSION_STORAGE, useValue: new MemoryStorage() },
        { provide: LIVE_BACKOFF, useValue: { initialMs: 100, maxMs: 1000 } },
        {
          provide: WEB_SOCKET,
          useValue: (url: string, protocols: string[]) => {
            const socket = new FakeSocket(url, protocols);
            sockets.push(socket);
            return socket;
          },
        },
      ],
    });
    TestBed.inject(Session).signIn('alice token/ä', 'tenant');
    sut = TestBed.inject(LiveStatus);
    stores = TestBed.inject(StoreState);
  });

  afterEach(() => {
    sut.disconnect();
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  it('opens the live endpoint with the urumi.v1 protocol and the token as a base64url subprotocol', () => {
    sut.connect();

    expect(latest().url).toBe(`ws://${location.host}/api/v1/live`);
    expect(latest().protocols).toEqual(['urumi.v1', `bearer.${Buffer.from('alice token/ä').toString('base64url')}`]);
    expect(sut.state()).toBe('connecting');
    latest().open();
    expect(sut.state()).toBe('online');
  });

  it('applies the snapshot, then each change and each removal', () => {
    sut.connect();
    latest().open();
    const boutique = aStore({ name: 'boutique' });
    const bakery = aStore({ name: 'bakery' });

    latest().send({ type: 'snapshot', stores: [boutique, bakery] });
    expect(stores.stores().map((s) => s.name)).toEqual(['bakery', 'boutique']);

    const approved = {
      ...boutique,
      step: 'approved',
      status: 'Approved',
      history: [...boutique.history, { step: 'approved', label: 'Approved', at: '2026-01-01T10:00:01.000Z' }],
    };
    latest().send({ type: 'store', store: approved });
    expect(stores.store(boutique.id)?.status).toBe('Approved');

    latest().send({ type: 'deleted', id: bakery.id });
    expect(stores.stores().map((s) => s.name)).toEqual(['boutique']);
    expect(stores.wasDeleted(bakery.id)).toBe(true);
  });

  it('goes offline when the socket drops and reconnects by itself, backing off while it keeps failing', () => {
    sut.connect();
    latest().open();

    latest().drop();
    expect(sut.state()).toBe('offline');
    expect(sockets).toHaveLength(1);
    jest.advanceTimersByTime(99);
    expect(sockets).toHaveLength(1);
    jest.advanceTimersByTime(1);
    expect(sockets).toHaveLength(2);
    expect(sut.state()).toBe('connecting');

    latest().drop();
    jest.advanceTimersByTime(199);
    expect(sockets).toHaveLength(2);
    jest.advanceTimersByTime(1);
    expect(sockets).toHaveLength(3);

    latest().drop();
    jest.advanceTimersByTime(400);
    expect(sockets).toHaveLength(4);

    latest().open();
    expect(sut.state()).toBe('online');
    latest().drop();
    jest.advanceTimersByTime(100);
    expect(sockets).toHaveLength(5);
  });

  it('never waits longer than the maximum delay', () => {
    sut.connect();
    for (let i = 0; i < 10; i++) {
      latest().drop();
      jest.advanceTimersByTime(1000);
    }

    expect(sockets).toHaveLength(11);
  });

  it('replaces what it knew with the snapshot after a reconnect, dropping stores deleted meanwhile', () => {
    sut.connect();
    latest().open();
    const kept = aStore({ name: 'kept' });
    const gone = aStore({ name: 'gone' });
    latest().send({ type: 'snapshot', stores: [kept, gone] });

    latest().drop();
    jest.advanceTimersByTime(100);
    latest().open();
    latest().send({ type: 'snapshot', stores: [kept] });

    expect(stores.stores().map((s) => s.name)).toEqual(['kept']);
    expect(stores.wasDeleted(gone.id)).toBe(true);
  });

  it('stops for good on disconnect (sign-out)', () => {
    sut.connect();
    latest().open();

    sut.disconnect();
    jest.advanceTimersByTime(60_000);

    expect(latest().closed).toBe(true);
    expect(sockets).toHaveLength(1);
    expect(sut.state()).toBe('offline');
  });
});
