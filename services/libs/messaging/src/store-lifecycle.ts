import { buckets } from '@urumi/contracts';
import { isRevisionConflict, KeyValueBuckets } from './kv';
import { KV } from 'nats';

/**
 * Settles the race between provisioning a store and deleting it, which arrive on different consumers:
 * each store id moves once, by compare-and-set, from nothing to `provisioning` (the provisioner is
 * about to create its Store) and/or to `withdrawn` (a delete came). Whoever loses the race sees the
 * other's mark and acts on it, so a store deleted early is never provisioned late. Marks never expire:
 * a store id is never reused, and its `withdrawn` mark is what keeps a late or replayed approval from
 * provisioning a deleted store again. Nothing concludes "never provisioned" from a missing mark alone:
 * the deleter reads the Store itself.
 */
export type LifecycleMark = 'provisioning' | 'withdrawn';

export interface Marked {
  /** The mark now held. */
  readonly mark: LifecycleMark;
  /** What was there before this call (undefined: nothing). */
  readonly previous: LifecycleMark | undefined;
}

export class StoreLifecycle {
  private constructor(private readonly kv: KV) {}

  static async open(kvBuckets: KeyValueBuckets, bucket: string = buckets.storeLifecycle): Promise<StoreLifecycle> {
    return new StoreLifecycle(await kvBuckets.open(bucket));
  }

  /** Marks the store as being provisioned, unless a delete got there first. */
  beginProvisioning(storeId: string): Promise<Marked> {
    return this.mark(storeId, (previous) => previous ?? 'provisioning');
  }

  /** Marks the store as withdrawn, whatever it was. */
  withdraw(storeId: string): Promise<Marked> {
    return this.mark(storeId, () => 'withdrawn');
  }

  async current(storeId: string): Promise<LifecycleMark | undefined> {
    return parse((await this.kv.get(storeId))?.string());
  }

  private async mark(storeId: string, next: (previous: LifecycleMark | undefined) => LifecycleMark): Promise<Marked> {
    for (;;) {
      const entry = await this.kv.get(storeId);
      const previous = entry && entry.operation === 'PUT' ? parse(entry.string()) : undefined;
      const mark = next(previous);
      if (mark === previous) return { mark, previous };
      try {
        if (entry) await this.kv.update(storeId, mark, entry.revision);
        else await this.kv.create(storeId, mark);
        return { mark, previous };
      } catch (error) {
        if (!isRevisionConflict(error)) throw error;
      }
    }
  }
}

function parse(value: string | undefined): LifecycleMark | undefined {
  return value === 'provisioning' || value === 'withdrawn' ? value : undefined;
}
