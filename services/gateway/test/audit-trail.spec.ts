import { eventually } from '@urumi/sandbox';
import type { AuditPage } from '@urumi/contracts';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { AuditLog } from '../src/audit/audit.service';
import { bearer, Harness, startGateway, uniqueStoreName } from './gateway-harness';

jest.setTimeout(60_000);

describe(AuditLog.name, () => {
  let sut: Harness;

  beforeAll(async () => {
    sut = await startGateway();
  });

  afterAll(() => sut?.close());

  async function entriesOf(requestId: string) {
    const page = (
      await request(sut.app.getHttpServer()).get('/api/v1/audit?limit=200').set(bearer('admin')).expect(200)
    ).body as AuditPage;
    return page.items.filter((item) => item.requestId === requestId);
  }

  it('records every action of a client that reuses one X-Request-Id', async () => {
    const requestId = `reused-${randomUUID()}`;
    const name = uniqueStoreName('audit');
    const server = sut.app.getHttpServer();

    const created = await request(server)
      .post('/api/v1/stores')
      .set(bearer('alice'))
      .set('X-Request-Id', requestId)
      .send({ name, engine: 'medusa' });
    const deleted = await request(server)
      .delete(`/api/v1/stores/${created.body.id as string}`)
      .set(bearer('alice'))
      .set('X-Request-Id', requestId);
    const deletedAgain = await request(server)
      .delete(`/api/v1/stores/${created.body.id as string}`)
      .set(bearer('alice'))
      .set('X-Request-Id', requestId);

    expect([created.status, deleted.status]).toEqual([202, 202]);
    const entries = await eventually(async () => {
      const found = await entriesOf(requestId);
      expect(found).toHaveLength(3);
      return found;
    });
    // Newest first; the client's request id is still recorded on each entry.
    expect(entries.map((entry) => [entry.action, entry.statusCode, entry.user, entry.storeName])).toEqual([
      ['store.delete', deletedAgain.status, 'alice', name],
      ['store.delete', 202, 'alice', name],
      ['store.create', 202, 'alice', name],
    ]);
  });
});
