import { randomInt } from 'node:crypto';
import request from 'supertest';
import WebSocket from 'ws';
import { LiveStatusServer } from '../src/live/live-status.server';
import { bearer, Harness, startGateway, users } from './gateway-harness';
import { connectLive, LiveOutcome, opened } from './live-client';

jest.setTimeout(60_000);

const IP_REQUESTS_PER_MINUTE = 3;

describe(`${LiveStatusServer.name} rate limits`, () => {
  let sut: Harness;
  const sockets: WebSocket[] = [];

  beforeAll(async () => {
    // Behind one proxy, so each test run can come from addresses no earlier run's counters know.
    sut = await startGateway({ RATE_LIMIT_IP_PER_MINUTE: String(IP_REQUESTS_PER_MINUTE), TRUSTED_PROXIES: '1' });
  });

  afterAll(async () => {
    for (const ws of sockets) ws.terminate();
    await sut?.close();
  });

  it('counts upgrades per client IP with the HTTP counter, an IPv6 /64 as one client', async () => {
    const [site, subnet] = [randomInt(0xffff), randomInt(0xfffe)];
    const prefix = `2001:db8:${site.toString(16)}:${subnet.toString(16)}`;
    const nextSubnet = `2001:db8:${site.toString(16)}:${(subnet + 1).toString(16)}`;
    const upgradeFrom = async (address: string): Promise<LiveOutcome> => {
      const ws = connectLive(sut.url, users.alice.token, { headers: { 'X-Forwarded-For': address } });
      sockets.push(ws);
      return opened(ws);
    };

    const outcomes = [];
    for (let host = 1; host <= IP_REQUESTS_PER_MINUTE + 1; host++)
      outcomes.push(await upgradeFrom(`${prefix}::${host}`));
    const elsewhere = await upgradeFrom(`${nextSubnet}::1`);
    const http = await request(sut.app.getHttpServer())
      .get('/api/v1/me')
      .set(bearer('alice'))
      .set('X-Forwarded-For', `${prefix}::99`);

    expect(outcomes.map((outcome) => outcome.opened)).toEqual([true, true, true, false]);
    expect(outcomes[3]).toMatchObject({ status: 429 });
    expect(outcomes[3]?.body).toMatch(
      /^\{"statusCode":429,"error":"Too Many Requests","message":"rate limit exceeded: at most 3 requests per IP address per minute; try again in \d+ s"\}$/,
    );
    expect(elsewhere).toEqual({ opened: true });
    expect(http.status).toBe(429);
  });
});
