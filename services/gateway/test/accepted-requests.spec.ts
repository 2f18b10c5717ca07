import {
  buckets,
  CreateStoreCommandSchema,
  create,
  encode,
  Engine,
  Step,
  StoreStatusChangedSchema,
  subjects,
  timestampNow,
} from '@urumi/contracts';
import { KeyValueBuckets } from '@urumi/messaging';
import { eventually } from '@urumi/sandbox';
import { headers } from 'nats';
import request from 'supertest';
import { bodyFingerprint, IdempotencyStore, idempotencyStoreKey } from '../src/idempotency';
import { DEFAULT_IDEMPOTENCY_TTL_MS, DEFAULT_PENDING_TIMEOUT_MS } from '../src/idempotency/idempotency.options';
import { StoreRepository } from '../src/read-model/store.repository';
import { StoresService } from '../src/stores/stores.service';
import { bearer, uniqueStoreName } from './gateway-harness';
import { gatewaysPerTest } from './gateways-per-test';
import { createCommandsFor } from './stores-stream';

jest.setTimeout(90_000);

const STORES_PATH = '/api/v1/stores';

/** What a 202 or 503 to a create means, against real NATS: an accepted request is one store, a refused one none. */
describe(`${StoresService.name} accepting a create`, () => {
  const fixture = gatewaysPerTest();
  const nats = () => fixture.nats();
  const gatewayBehindProxy = () => fixture.behindProxy();

  describe('when JetStream stores the command but its ack is lost', () => {
    it('sends it again with the same msgId and answers 202 for the one store', async () => {
      const { sut, proxy } = await gatewayBehindProxy();
      let sends = 0;
      // The first ack is held back until the gateway sends the command again (its first wait timed out).
      proxy.whenClientSends(/HPUB store\.cmd\.create /, () => {
        sends++;
        if (sends === 1) proxy.hold();
        else proxy.release();
      });
      const name = uniqueStoreName();

      const res = await request(sut.app.getHttpServer())
        .post(STORES_PATH)
        .set(bearer('alice'))
        .send({ name, engine: 'medusa' });

      expect(res.status).toBe(202);
      expect(sends).toBe(2);
      expect((await createCommandsFor(nats(), name)).map((command) => command.storeId)).toEqual([res.body.id]);
      const mine = await request(sut.app.getHttpServer()).get(STORES_PATH).set(bearer('alice'));
      expect(mine.body.items.filter((store: { name: string }) => store.name === name)).toEqual([
        expect.objectContaining({ id: res.body.id, step: 'queued' }),
      ]);
    });

    it('answers 503 while in doubt, keeps the name for that store, and a retry with the key gets it', async () => {
      const { sut, proxy } = await gatewayBehindProxy();
      let stalled = true;
      proxy.whenClientSends(/HPUB store\.cmd\.create /, () => {
        if (stalled) proxy.hold();
      });
      const name = uniqueStoreName();
      const create = () =>
        request(sut.app.getHttpServer())
          .post(STORES_PATH)
          .set(bearer('alice'))
          .set('Idempotency-Key', `in-doubt-${name}`)
          .send({ name, engine: 'medusa' });

      const inDoubt = await create();
      stalled = false;
      proxy.release();
      const retry = await create();

      expect(inDoubt.status).toBe(503);
      expect(inDoubt.body.message).toBe(
        'the platform could not confirm the request (event bus not answering); retry with the same Idempotency-Key',
      );
      expect(retry.status).toBe(202);
      const commands = await createCommandsFor(nats(), name);
      expect(commands.map((command) => command.storeId)).toEqual([retry.body.id]);
      const bobs = await request(sut.app.getHttpServer())
        .post(STORES_PATH)
        .set(bearer('bob'))
        .send({ name, engine: 'medusa' });
      expect(bobs.status).toBe(409);
    });
  });

  describe('after a gateway died in the middle of a create', () => {
    /**
     * What a gateway that died mid-create left: its claim on the key (from long enough ago to be taken over), the
     * name reserved for its store, perhaps its command in the stream, and what became of that store since. Then a
     * fresh gateway to retry on.
     */
    async function afterDeath(left: 'reserved' | 'published' | Step.REJECTED | Step.DELETED) {
      const name = uniqueStoreName();
      const key = `crashed-${name}`;
      const body = { name, engine: 'medusa' };
      const kvBuckets = new KeyValueBuckets(nats());
      const idempotency = await IdempotencyStore.open(kvBuckets, buckets.idempotency, {
        ttlMs: DEFAULT_IDEMPOTENCY_TTL_MS,
        pendingTimeoutMs: DEFAULT_PENDING_TIMEOUT_MS,
      });
      const startedAt = Date.now() - DEFAULT_PENDING_TIMEOUT_MS - 1_000;
      const clock = jest.spyOn(Date, 'now').mockReturnValue(startedAt);
      const claim = await idempotency
        .claim(idempotencyStoreKey('alice', 'POST', STORES_PATH, key), bodyFingerprint(body))
        .finally(() => clock.mockRestore());
      if (claim.kind !== 'claimed') throw new Error(`the key was not free: ${claim.kind}`);
      const storeId = claim.resourceId;
      expect(await (await StoreRepository.open(kvBuckets)).reserveName(name, storeId, () => false)).toBe(true);
      if (left !== 'reserved') {
        const command = create(CreateStoreCommandSchema, {
          storeId,
          name,
          engine: Engine.MEDUSA,
          owner: 'alice',
          requestedAt: timestampNow(),
        });
        const h = headers();
        h.set('Nats-Msg-Id', `create:${storeId}`);
        await nats()
          .jetstream()
          .publish(subjects.createStore, JSON.stringify(encode(CreateStoreCommandSchema, command)), { headers: h });
      }
      const sut = await fixture.gateway();
      if (left === Step.REJECTED || left === Step.DELETED) {
        // Quota's rejection, or the cleanup's last word: either frees the name.
        const event = create(StoreStatusChangedSchema, {
          storeId,
          name,
          engine: Engine.MEDUSA,
          owner: 'alice',
          step: left,
          occurredAt: timestampNow(),
        });
        await nats()
          .jetstream()
          .publish(subjects.status(left), JSON.stringify(encode(StoreStatusChangedSchema, event)));
        const names = await kvBuckets.open(buckets.storeNames);
        await eventually(async () => expect((await names.get(name))?.operation ?? 'gone').not.toBe('PUT'));
      }
      const retry = () =>
        request(sut.app.getHttpServer()).post(STORES_PATH).set(bearer('alice')).set('Idempotency-Key', key).send(body);
      return { sut, name, storeId, retry };
    }

    it.each([
      ['after publishing the command', 'published'],
      ['before publishing the command', 'reserved'],
      ['after publishing the command, which quota then rejected and so freed the name', Step.REJECTED],
    ] as const)('gives the retry with the same Idempotency-Key the store it started (%s)', async (_case, left) => {
      const { sut, name, storeId, retry } = await afterDeath(left);

      const first = await retry();
      const again = await retry();

      expect(first.status).toBe(202);
      expect(first.body).toMatchObject({ id: storeId, name, owner: 'alice' });
      if (left === Step.REJECTED) expect(first.body.step).toBe('rejected');
      expect(again.status).toBe(202);
      expect(again.body.id).toBe(storeId);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect((await createCommandsFor(nats(), name)).map((command) => command.storeId)).toEqual([storeId]);
      await eventually(async () =>
        expect(
          (await request(sut.app.getHttpServer()).get(`${STORES_PATH}/${storeId}`).set(bearer('alice'))).status,
        ).toBe(200),
      );
    });

    it('tells the retry that the store it started has been deleted since, and creates no other', async () => {
      const { name, storeId, retry } = await afterDeath(Step.DELETED);

      const first = await retry();

      expect(first.status).toBe(409);
      expect(first.body.message).toBe(
        `this request already created store ${storeId}, which has been deleted since; ` +
          'to create the store again, send a new request with another Idempotency-Key',
      );
      expect((await createCommandsFor(nats(), name)).map((command) => command.storeId)).toEqual([storeId]);
    });
  });
});
