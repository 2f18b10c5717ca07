import type { CoreV1Event } from '@kubernetes/client-node';
import type { KubeClients } from './client';
import type { Store } from './store';
import { STORE_EVENTS_NAMESPACE, StoreRecorder } from './store-recorder';

const store: Store = {
  apiVersion: 'urumi.dev/v1',
  kind: 'Store',
  metadata: { name: 'shop', uid: 'uid-1', resourceVersion: '7' },
  spec: { storeId: 's-1', engine: 'woocommerce', owner: 'alice', domain: 'shop.example.com' },
};

function recorderWith(create: (body: CoreV1Event) => Promise<unknown>) {
  const sent: CoreV1Event[] = [];
  const kube = {
    core: {
      createNamespacedEvent: ({ namespace, body }: { namespace: string; body: CoreV1Event }) => {
        expect(namespace).toBe(STORE_EVENTS_NAMESPACE);
        sent.push(body);
        return create(body);
      },
    },
  } as unknown as KubeClients;
  return { recorder: new StoreRecorder(kube, 'provisioner', 'provisioner-7d9f-abc', 'Provision'), sent };
}

describe(StoreRecorder.name, () => {
  it('writes each note as an Event on the Store, by its uid, as the operator and pod that acted', async () => {
    const { recorder, sent } = recorderWith(async () => ({}));
    const at = new Date('2026-12-03T10:00:00.123Z');

    await recorder.record(store, { type: 'Warning', reason: 'NamespaceNotOwned', message: 'not ours', at });

    expect(sent).toEqual([
      expect.objectContaining({
        involvedObject: { apiVersion: 'urumi.dev/v1', kind: 'Store', name: 'shop', uid: 'uid-1', resourceVersion: '7' },
        type: 'Warning',
        reason: 'NamespaceNotOwned',
        message: 'not ours',
        action: 'Provision',
        reportingComponent: 'urumi.dev/provisioner',
        reportingInstance: 'provisioner-7d9f-abc',
        firstTimestamp: at,
        lastTimestamp: at,
        eventTime: '2026-12-03T10:00:00.123000Z',
        count: 1,
      }),
    ]);
  });

  it('names and times notes of one millisecond in their order, so kubectl lists them so', async () => {
    const { recorder, sent } = recorderWith(async () => ({}));
    const at = new Date('2026-12-03T10:00:00.123Z');
    const notes = ['Approved', 'NamespaceReady', 'SecretsReady'].map((reason) => ({
      type: 'Normal' as const,
      reason,
      message: '',
      at,
    }));

    await recorder.record(store, ...notes);

    const names = sent.map((event) => event.metadata.name!);
    expect(names.every((name) => /^shop\.[0-9a-f]{14}$/.test(name))).toBe(true);
    expect([...names].sort()).toEqual(names);
    expect(new Set(names).size).toBe(3);
    expect(sent.map((event) => event.eventTime)).toEqual([
      '2026-12-03T10:00:00.123000Z',
      '2026-12-03T10:00:00.123001Z',
      '2026-12-03T10:00:00.123002Z',
    ]);
  });

  it('cuts a long message, and drops an Event the API server refuses without failing the work it reports', async () => {
    const { recorder, sent } = recorderWith(async (body) => {
      if (body.reason === 'Refused') throw new Error('forbidden');
      return {};
    });

    await expect(
      recorder.record(
        store,
        { type: 'Normal', reason: 'Refused', message: 'x' },
        { type: 'Normal', reason: 'Long', message: 'y'.repeat(5000) },
      ),
    ).resolves.toBeUndefined();

    expect(sent.map((event) => event.reason)).toEqual(['Refused', 'Long']);
    expect(sent[1]!.message).toHaveLength(1024);
  });
});
