import { eventually, Platform, testSandbox } from '@urumi/sandbox';
import { readFileSync } from 'node:fs';
import { connect, Socket } from 'node:net';
import WebSocket from 'ws';
import { LIVE_PATH, LIVE_PROTOCOL, LiveStatusServer } from '../src/live/live-status.server';
import { IdentityProvider, startIdentityProvider } from './identity-provider';
import { closed, connectLive, LiveOutcome, opened } from './live-client';

jest.setTimeout(180_000);

const MAX_CONNECTIONS_PER_USER = 10;
const USER_REQUESTS_PER_MINUTE = 30;

/** The gateway's resident memory, from the kernel: what an OOM kill would look at. */
function residentBytes(pid: number): number {
  const kib = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  if (!kib) throw new Error(`no VmRSS for process ${pid}`);
  return Number(kib) * 1024;
}

/**
 * Hostile clients against the gateway as its own process (compiled, as its image runs it), so that a
 * crash shows as a dead process instead of taking the test runner down with it.
 */
describe(`${LiveStatusServer.name} against hostile clients`, () => {
  let idp: IdentityProvider;
  let platform: Platform;
  let gatewayUrl = '';
  const sockets: WebSocket[] = [];

  beforeAll(async () => {
    idp = await startIdentityProvider();
    platform = new Platform(testSandbox(), {
      services: ['gateway'],
      env: { LOG_LEVEL: 'warn' },
      serviceEnv: {
        gateway: {
          ...idp.gatewayEnv,
          ALLOWED_ORIGINS: 'http://console.test',
          LIVE_MAX_CONNECTIONS_PER_USER: String(MAX_CONNECTIONS_PER_USER),
          RATE_LIMIT_USER_PER_MINUTE: String(USER_REQUESTS_PER_MINUTE),
          RATE_LIMIT_IP_PER_MINUTE: '100000',
        },
      },
      output: () => undefined,
    });
    ({ gatewayUrl } = await platform.start());
  });

  afterEach(() => {
    for (const ws of sockets.splice(0)) ws.terminate();
  });

  afterAll(async () => {
    await platform?.stop();
    await idp?.close();
  });

  /** A user of its own per test run, so no earlier run's rate-limit counters apply. */
  const someUser = (purpose: string) => `${purpose}-${Date.now().toString(36)}`;

  async function gatewayAnswers(): Promise<void> {
    const res = await fetch(`${gatewayUrl}/healthz`);
    expect(res.status).toBe(200);
  }

  /** A raw client: an upgrade request it can abandon with a TCP reset at any point. */
  function rawUpgrade(token: string, origin: string): Promise<Socket> {
    const { hostname, port } = new URL(gatewayUrl);
    return new Promise((resolve, reject) => {
      const socket = connect(Number(port), hostname, () => {
        socket.write(
          `GET ${LIVE_PATH} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n' +
            `Sec-WebSocket-Protocol: ${LIVE_PROTOCOL}, bearer.${Buffer.from(token).toString('base64url')}\r\n` +
            `Origin: ${origin}\r\n\r\n`,
        );
        resolve(socket);
      });
      socket.once('error', reject);
    });
  }

  it('stays up when a client resets its socket in the middle of authentication', async () => {
    // The first token the gateway verifies makes it fetch the signing keys: held, authentication waits.
    const keys = idp.holdKeys();
    const socket = await rawUpgrade(await idp.sign({ sub: someUser('reset-mid-auth') }), 'http://console.test');
    await keys.requested;

    socket.resetAndDestroy();
    keys.release();

    await gatewayAnswers();
    const ws = connectLive(gatewayUrl, await idp.sign({ sub: someUser('after-reset') }));
    sockets.push(ws);
    expect(await opened(ws)).toEqual({ opened: true });
  });

  it('stays up when a client resets its socket while the refusal is being written', async () => {
    for (let attempt = 0; attempt < 20; attempt++) {
      const socket = await rawUpgrade('not-a-token', 'http://evil.test');
      // Reset once the 403 starts arriving: the gateway is still writing or closing its side.
      await new Promise((resolve) => socket.once('data', resolve));
      socket.resetAndDestroy();
    }
    for (let attempt = 0; attempt < 20; attempt++)
      (await rawUpgrade('not-a-token', 'http://evil.test')).resetAndDestroy();

    await gatewayAnswers();
  });

  it(`refuses a user's socket past ${MAX_CONNECTIONS_PER_USER} with 429, and counts upgrades against the rate limit`, async () => {
    const token = await idp.sign({ sub: someUser('many-sockets') });
    const outcomes: LiveOutcome[] = [];
    for (let i = 0; i < 100; i++) {
      const ws = connectLive(gatewayUrl, token);
      sockets.push(ws);
      outcomes.push(await opened(ws));
    }

    const summary = outcomes.map((o) =>
      o.opened ? 'open' : `${o.status} ${/too many live connections|rate limit exceeded/.exec(o.body ?? '')?.[0]}`,
    );
    const expected = [
      ...Array<string>(MAX_CONNECTIONS_PER_USER).fill('open'),
      ...Array<string>(USER_REQUESTS_PER_MINUTE - MAX_CONNECTIONS_PER_USER).fill('429 too many live connections'),
      ...Array<string>(100 - USER_REQUESTS_PER_MINUTE).fill('429 rate limit exceeded'),
    ];
    expect(summary).toEqual(expected);
    // The same counter as HTTP: this user's next API call is over the limit too.
    const me = await fetch(`${gatewayUrl}/api/v1/me`, { headers: { Authorization: `Bearer ${token}` } });
    expect(me.status).toBe(429);
  });

  it('closes a socket that sends a 10 MB frame with 1009, and its memory stays flat', async () => {
    const pid = platform.pidOf('gateway');
    if (pid === undefined) throw new Error('the gateway is not running');
    const before = residentBytes(pid);

    const outcomes = await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        const ws = connectLive(gatewayUrl, await idp.sign({ sub: someUser(`big-frame-${i}`) }));
        sockets.push(ws);
        ws.on('error', () => undefined);
        await opened(ws);
        const end = closed(ws, 30_000);
        ws.send(Buffer.alloc(10 * 1024 * 1024, 1));
        return (await end).closeCode;
      }),
    );

    expect(outcomes).toEqual(Array<number>(8).fill(1009));
    await gatewayAnswers();
    const grown = residentBytes(pid) - before;
    expect(grown).toBeLessThan(50 * 1024 * 1024);
  });

  it('is still the same process after all of it', async () => {
    await eventually(gatewayAnswers);
    expect(platform.pidOf('gateway')).toBeDefined();
  });
});
