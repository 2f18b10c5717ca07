import { Step, streams } from '@urumi/contracts';
import { durableName } from '@urumi/messaging';
import { eventually } from '@urumi/sandbox';
import request from 'supertest';
import { ReadModel } from '../src/read-model/read-model.service';
import { bearer, Harness, uniqueStoreName, User } from './gateway-harness';
import { gatewaysPerTest } from './gateways-per-test';
import { publishStatus, StoreRef } from './stores-stream';

jest.setTimeout(90_000);

const STORES_PATH = '/api/v1/stores';
const PROVISIONING = [Step.APPROVED, Step.NAMESPACE_READY, Step.SECRETS_READY, Step.WORKLOAD_INSTALLED, Step.READY];
const PROVISIONED_HISTORY = ['queued', 'approved', 'namespace-ready', 'secrets-ready', 'workload-installed', 'ready'];

/** The read model as the API serves it, fed by the real STORES stream and the real KV bucket. */
describe(ReadModel.name, () => {
  const fixture = gatewaysPerTest();
  const gateway = fixture.gateway;

  async function createStore(sut: Harness, user: User = 'alice'): Promise<StoreRef> {
    const res = await request(sut.app.getHttpServer())
      .post(STORES_PATH)
      .set(bearer(user))
      .send({ name: uniqueStoreName(), engine: 'woocommerce' });
    expect(res.status).toBe(202);
    return res.body as StoreRef;
  }

  const getStore = async (sut: Harness, id: string, user: User = 'alice') =>
    request(sut.app.getHttpServer()).get(`${STORES_PATH}/${id}`).set(bearer(user));

  const shown = async (sut: Harness, id: string) => {
    const { body } = await getStore(sut, id);
    return { step: body.step, history: (body.history as { step: string }[]).map((h) => h.step) };
  };

  describe('with two gateways sharing the projector’s durable consumer', () => {
    it('ends in the state of the events in stream order, though one replica applies its event late', async () => {
      const { sut: late, proxy } = await fixture.behindProxy();
      const prompt = await gateway();
      const store = await createStore(prompt);
      const jsm = await fixture.nats().jetstreamManager();
      const durable = durableName('gateway', 'store.>');
      const settled = async () => {
        const consumer = await jsm.consumers.info(streams.stores.name, durable);
        expect([consumer.num_pending, consumer.num_ack_pending]).toEqual([0, 0]);
      };
      await eventually(settled);

      // The late replica is handed an event it only sees after the other has applied every later one.
      proxy.hold();
      for (const step of PROVISIONING) await publishStatus(fixture.nats(), store, step);
      await eventually(async () => {
        const consumer = await jsm.consumers.info(streams.stores.name, durable);
        expect(consumer.num_pending).toBe(0);
        expect(consumer.num_ack_pending).toBe(1);
        expect(proxy.held()).toMatch(/MSG store\.status\.[a-z-]+ /);
      }, 20_000);
      expect(await shown(prompt, store.id)).not.toEqual({ step: 'ready', history: PROVISIONED_HISTORY });
      proxy.release();

      for (const replica of [late, prompt]) {
        await eventually(async () =>
          expect(await shown(replica, store.id)).toEqual({ step: 'ready', history: PROVISIONED_HISTORY }),
        );
      }
      await eventually(settled);
      expect(await shown(late, store.id)).toEqual({ step: 'ready', history: PROVISIONED_HISTORY });
    });
  });

  describe('with two replicas, one of them late to hear of changes', () => {
    /** A store created through `prompt` while `late` hears nothing from NATS, and a request to `late` sent at once. */
    async function askLateRightAfterCreate(ask: (late: Harness, store: StoreRef) => request.Test) {
      const { sut: late, proxy } = await fixture.behindProxy();
      const prompt = await gateway();
      proxy.hold();
      const store = await createStore(prompt);
      const answer = ask(late, store).then((res) => res);
      // Whatever `late` answers before it hears from NATS is stale: only the release lets it know of the store.
      const early = await Promise.race([answer, new Promise((resolve) => setTimeout(resolve, 500, 'waiting'))]);
      proxy.release();
      return { early, res: await answer, store };
    }

    it('finds a store created through the other replica a moment ago', async () => {
      const { early, res, store } = await askLateRightAfterCreate((late, store) =>
        request(late.app.getHttpServer()).get(`${STORES_PATH}/${store.id}`).set(bearer('alice')),
      );

      expect(early).toBe('waiting');
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: store.id, step: 'queued' });
    });

    it('lists a store created through the other replica a moment ago', async () => {
      const { res, store } = await askLateRightAfterCreate((late) =>
        request(late.app.getHttpServer()).get(STORES_PATH).set(bearer('alice')),
      );

      expect(res.status).toBe(200);
      expect(res.body.items.map((item: StoreRef) => item.id)).toContain(store.id);
    });

    it('deletes a store created through the other replica a moment ago', async () => {
      const { res, store } = await askLateRightAfterCreate((late, store) =>
        request(late.app.getHttpServer()).delete(`${STORES_PATH}/${store.id}`).set(bearer('alice')),
      );

      expect(res.status).toBe(202);
      expect(res.body).toMatchObject({ id: store.id, step: 'deleting' });
    });

    it('answers 503, not a stale view, when it cannot hear from NATS', async () => {
      const { sut: late, proxy } = await fixture.behindProxy();
      const prompt = await gateway();
      proxy.hold();
      const store = await createStore(prompt);

      const res = await request(late.app.getHttpServer()).get(`${STORES_PATH}/${store.id}`).set(bearer('alice'));

      expect(res.status).toBe(503);
      expect(res.body.message).toMatch(/could not confirm its view of the stores is current/);
    });
  });

  describe('with an event announced again after the dedupe window', () => {
    it('keeps a Ready store Ready', async () => {
      const sut = await gateway();
      const store = await createStore(sut);
      for (const step of PROVISIONING) await publishStatus(fixture.nats(), store, step);
      await eventually(async () => expect((await shown(sut, store.id)).step).toBe('ready'));

      // Past the dedupe window a repeated msgId is no longer dropped: it is another message, as is this one.
      await publishStatus(fixture.nats(), store, Step.APPROVED, { msgId: `re-announced:${store.id}` });
      const marker = await createStore(sut, 'bob');
      await publishStatus(fixture.nats(), marker, Step.REJECTED, { reason: 'QuotaExceeded' });
      await eventually(async () => expect((await getStore(sut, marker.id, 'bob')).body.step).toBe('rejected'));

      expect(await shown(sut, store.id)).toEqual({ step: 'ready', history: PROVISIONED_HISTORY });
    });

    it('shows a store re-created under the same name with a new id from its own events only', async () => {
      const sut = await gateway();
      const first = await createStore(sut);
      await publishStatus(fixture.nats(), first, Step.REJECTED, { reason: 'QuotaExceeded' });
      await eventually(async () => expect((await shown(sut, first.id)).step).toBe('rejected'));
      const again = await eventually(async () => {
        const res = await request(sut.app.getHttpServer())
          .post(STORES_PATH)
          .set(bearer('alice'))
          .send({ name: first.name, engine: 'woocommerce' });
        expect(res.status).toBe(202);
        return res.body as StoreRef;
      });
      await publishStatus(fixture.nats(), again, Step.APPROVED);
      await publishStatus(fixture.nats(), first, Step.APPROVED, { msgId: `re-announced:${first.id}` });

      await eventually(async () => expect((await shown(sut, again.id)).step).toBe('approved'));
      expect(again.id).not.toBe(first.id);
      expect(await shown(sut, first.id)).toEqual({ step: 'rejected', history: ['queued', 'rejected'] });
      expect(await shown(sut, again.id)).toEqual({ step: 'approved', history: ['queued', 'approved'] });
    });
  });

  describe('paging', () => {
    it('continues after a cursor whose store was deleted meanwhile', async () => {
      const sut = await gateway();
      for (let i = 0; i < 4; i++) await createStore(sut, 'bob');
      const page = (after?: string) =>
        request(sut.app.getHttpServer())
          .get(STORES_PATH)
          .query(after === undefined ? { limit: 2 } : { limit: 2, after })
          .set(bearer('bob'));
      const firstPage = await page();
      const cursor = firstPage.body.next as string;
      const lastOfFirstPage = firstPage.body.items[1] as StoreRef;
      const secondPageBefore = (await page(cursor)).body.items.map((store: StoreRef) => store.id);

      expect(
        (await request(sut.app.getHttpServer()).delete(`${STORES_PATH}/${lastOfFirstPage.id}`).set(bearer('bob')))
          .status,
      ).toBe(202);
      await publishStatus(fixture.nats(), lastOfFirstPage, Step.DELETED);
      await eventually(async () => expect((await getStore(sut, lastOfFirstPage.id, 'bob')).status).toBe(404));
      const secondPageAfter = await page(cursor);

      expect(secondPageBefore).toHaveLength(2);
      expect(secondPageAfter.status).toBe(200);
      expect(secondPageAfter.body.items.map((store: StoreRef) => store.id)).toEqual(secondPageBefore);
    });

    it('refuses a cursor it did not make with 400', async () => {
      const sut = await gateway();

      const res = await request(sut.app.getHttpServer())
        .get(STORES_PATH)
        .query({ after: 'not-a-cursor' })
        .set(bearer('bob'));

      expect(res.status).toBe(400);
      expect(res.body.message).toBe('after must be the next value of a previous page');
    });
  });
});
