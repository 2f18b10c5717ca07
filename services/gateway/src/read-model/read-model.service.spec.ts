import { create, StoreSchema } from '@urumi/contracts';
import { ReadModel, ReadModelBehindError } from './read-model.service';
import { StoreChange, StoreRepository, StoreWatch } from './store.repository';

/**
 * A bucket another replica writes to, and this replica's watch of it, each moved by the test: what the bucket holds
 * (its newest revision) runs ahead of what the watch has delivered, as it does for a moment after any write.
 */
class Bucket {
  revision = 0;
  asked = 0;
  private onChange?: (change: StoreChange) => void;

  readonly repository = {
    watch: async (onChange: (change: StoreChange) => void): Promise<StoreWatch> => {
      this.onChange = onChange;
      return { caughtUp: Promise.resolve(), ended: new Promise(() => undefined), stop: () => undefined };
    },
    lastRevision: async (): Promise<number> => {
      this.asked++;
      return this.revision;
    },
  } as unknown as StoreRepository;

  /** Another replica writes a store: the bucket holds it, the watch has not delivered it yet. */
  write(id: string): StoreChange {
    this.revision++;
    return { id, store: create(StoreSchema, { id, name: id, owner: 'alice' }), revision: this.revision };
  }

  deliver(change: StoreChange): void {
    this.onChange?.(change);
  }
}

const alice = { name: 'alice', role: 'tenant' } as const;

async function readModelOn(bucket: Bucket): Promise<ReadModel> {
  const sut = new ReadModel(bucket.repository);
  await sut.onModuleInit();
  await new Promise((resolve) => setImmediate(resolve));
  return sut;
}

describe(`${ReadModel.name}.sync`, () => {
  it('waits until the watch has delivered every write the bucket held: then the store is there', async () => {
    const bucket = new Bucket();
    const sut = await readModelOn(bucket);
    const written = bucket.write('store-1');

    let synced = false;
    const sync = sut.sync().then(() => (synced = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect([synced, sut.get(alice, 'store-1')]).toEqual([false, undefined]);
    bucket.deliver(written);
    await sync;

    expect(sut.get(alice, 'store-1')?.id).toBe('store-1');
    sut.onModuleDestroy();
  });

  it('answers at once when the watch is current, and reads that arrive together share one request', async () => {
    const bucket = new Bucket();
    const sut = await readModelOn(bucket);
    bucket.deliver(bucket.write('store-1'));

    await Promise.all(Array.from({ length: 20 }, () => sut.sync()));

    expect(bucket.asked).toBeLessThanOrEqual(2);
    sut.onModuleDestroy();
  });

  it('gives up with ReadModelBehindError when the watch does not catch up', async () => {
    const bucket = new Bucket();
    const sut = await readModelOn(bucket);
    bucket.write('store-1');

    await expect(sut.sync()).rejects.toBeInstanceOf(ReadModelBehindError);
    sut.onModuleDestroy();
  }, 15_000);
});
