import type { Store, StoreHistoryEntry } from '@urumi/kube';
import { withHealth } from './health';
import { notesOf } from './story';

const URL = 'http://shop.127.0.0.1.nip.io';
const at = (second: number) => new Date(Date.UTC(2026, 11, 3, 10, 0, second));

function aStore(phase: 'Provisioning' | 'Ready' | 'Failed', history: StoreHistoryEntry[]): Store {
  const since = at(0).toISOString();
  return {
    apiVersion: 'urumi.dev/v1',
    kind: 'Store',
    metadata: { name: 'shop', uid: 'u-1', generation: 1 },
    spec: { storeId: 's-1', engine: 'woocommerce', owner: 'alice', domain: 'shop.127.0.0.1.nip.io' },
    status: {
      phase,
      history,
      conditions: [
        {
          type: 'Ready',
          status: phase === 'Ready' ? 'True' : 'False',
          reason: 'R',
          message: '',
          lastTransitionTime: since,
        },
        { type: 'Degraded', status: 'False', reason: 'AsExpected', message: '', lastTransitionTime: since },
      ],
    },
  };
}

const approved = { step: 'approved', at: at(1).toISOString(), reason: 'Approved', message: 'quota approved the store' };
const fenced = { step: 'namespace-ready', at: at(2).toISOString(), reason: 'NamespaceReady', message: 'fenced in' };
const ready = { step: 'ready', at: at(9).toISOString(), reason: 'StoreReady', message: `serving at ${URL}` };

describe(notesOf.name, () => {
  it('tells each step the write records for the first time, at the time it was taken', () => {
    const before = aStore('Provisioning', [approved]);
    const after = aStore('Provisioning', [approved, fenced]);
    expect(notesOf(before, after)).toEqual([
      { type: 'Normal', reason: 'NamespaceReady', message: 'fenced in', at: at(2) },
    ]);
    expect(notesOf(aStore('Provisioning', []), after).map((n) => n.reason)).toEqual(['Approved', 'NamespaceReady']);
  });

  it('tells nothing when the write records no new step', () => {
    const store = aStore('Provisioning', [approved, fenced]);
    expect(notesOf(store, store)).toEqual([]);
  });

  it('tells a failure as a Warning with its reason', () => {
    const failed = { step: 'failed', at: at(3).toISOString(), reason: 'NamespaceNotOwned', message: 'not ours' };
    expect(notesOf(aStore('Provisioning', [approved]), aStore('Failed', [approved, failed]))).toEqual([
      { type: 'Warning', reason: 'NamespaceNotOwned', message: 'not ours', at: at(3) },
    ]);
  });

  it('tells a Ready store turning Degraded, a new reason, and its recovery', () => {
    const healthy = aStore('Ready', [approved, fenced, ready]);
    const problem = { reason: 'WorkloadUnavailable', message: 'Deployment store-wordpress: 0/1 available' };
    const degraded = withHealth(healthy, problem, URL, at(20));
    expect(notesOf(healthy, degraded, at(20))).toEqual([{ type: 'Warning', ...problem, at: at(20) }]);
    expect(notesOf(degraded, degraded, at(21))).toEqual([]);
    const missing = { reason: 'WorkloadMissing', message: 'Deployment store-wordpress deleted; reinstalled' };
    expect(notesOf(degraded, withHealth(degraded, missing, URL, at(22)), at(22))).toEqual([
      { type: 'Warning', ...missing, at: at(22) },
    ]);
    expect(notesOf(degraded, withHealth(degraded, undefined, URL, at(30)), at(30))).toEqual([
      { type: 'Normal', reason: 'Recovered', message: `serving at ${URL}`, at: at(30) },
    ]);
  });

  it('tells the first Ready as its step only, not as a recovery', () => {
    const provisioning = aStore('Provisioning', [approved, fenced]);
    expect(notesOf(provisioning, aStore('Ready', [approved, fenced, ready])).map((n) => n.reason)).toEqual([
      'StoreReady',
    ]);
  });
});
