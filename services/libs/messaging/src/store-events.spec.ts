import { Step } from '@urumi/contracts';
import type { JetStreamPublisher, PublishOptions } from './publisher';
import { StoreEventPublisher } from './store-events';

/** Stands in for JetStream: records what would be sent (subject and Nats-Msg-Id). */
class RecordingPublisher {
  readonly sent: { subject: string; msgId: string }[] = [];
  publishJson(subject: string, _value: unknown, options: PublishOptions) {
    this.sent.push({ subject, msgId: options.msgId });
    return Promise.resolve({ stream: 'STORES', seq: this.sent.length, duplicate: false });
  }
}

describe(StoreEventPublisher.name, () => {
  const identity = { storeId: 's-1', name: 'shop', owner: 'alice' };
  let jetStream: RecordingPublisher;
  let sut: StoreEventPublisher;

  beforeEach(() => {
    jetStream = new RecordingPublisher();
    sut = new StoreEventPublisher(jetStream as unknown as JetStreamPublisher);
  });

  it('names a step by what it says, so a repeat of it is deduplicated', async () => {
    await sut.publish(identity, { step: Step.READY });
    await sut.publish(identity, { step: Step.READY });

    expect(jetStream.sent).toEqual([
      { subject: 'store.status.ready', msgId: 'status:s-1:ready' },
      { subject: 'store.status.ready', msgId: 'status:s-1:ready' },
    ]);
  });

  it('tells apart announcements of one step by their revision (a Ready store turning Degraded and back)', async () => {
    await sut.publish(identity, { step: Step.READY });
    await sut.publish(identity, { step: Step.READY, revision: 'degraded1' });
    await sut.publish(identity, { step: Step.READY, revision: 'recovered1' });

    expect(jetStream.sent.map((s) => s.msgId)).toEqual([
      'status:s-1:ready',
      'status:s-1:ready@degraded1',
      'status:s-1:ready@recovered1',
    ]);
  });
});
