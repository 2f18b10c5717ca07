import { provideHttpClient, withInterceptors } from '@angular/common/http';
import { provideHttpClientTesting } from '@angular/common/http/testing';
import { Provider, EnvironmentProviders } from '@angular/core';
import { provideRouter } from '@angular/router';
import type { EngineView } from '@urumi/contracts';
import { apiInterceptor } from './core/api.interceptor';
import { StoreView } from './core/api.types';
import { SESSION_STORAGE } from './core/session';

/** What a component or service test needs: the app's HTTP stack against HttpTestingController, a router, a session. */
export function provideConsoleTesting(): (Provider | EnvironmentProviders)[] {
  return [
    provideHttpClient(withInterceptors([apiInterceptor])),
    provideHttpClientTesting(),
    provideRouter([]),
    { provide: SESSION_STORAGE, useValue: new MemoryStorage() },
  ];
}

/** A store as the gateway sends it; override what the test is about. */
export function aStore(overrides: Partial<StoreView> = {}): StoreView {
  const name = overrides.name ?? 'fashion-boutique';
  return {
    id: `id-${name}`,
    name,
    engine: 'woocommerce',
    owner: 'alice',
    step: 'queued',
    status: 'Queued',
    url: `http://${name}.127.0.0.1.nip.io`,
    namespace: `store-${name}`,
    createdAt: '2026-01-01T10:00:00.000Z',
    updatedAt: '2026-01-01T10:00:00.000Z',
    conditions: [],
    history: [{ step: 'queued', label: 'Queued', at: '2026-01-01T10:00:00.000Z' }],
    ...overrides,
  };
}

/**
 * A Ready store whose workload became unavailable (with `message`), or is back since `recoveredAt`, as the gateway
 * sends it: its Ready step, with the conditions the provisioner reported.
 */
export function aDegradedStore(message: string, { recoveredAt }: { recoveredAt?: string } = {}): StoreView {
  const at = recoveredAt ?? '2026-01-01T10:05:00.000Z';
  const url = 'http://fashion-boutique.127.0.0.1.nip.io';
  return aStore({
    step: 'ready',
    status: 'Ready',
    updatedAt: at,
    history: [
      { step: 'queued', label: 'Queued', at: '2026-01-01T10:00:00.000Z' },
      { step: 'ready', label: 'Ready', at: '2026-01-01T10:01:00.000Z' },
    ],
    conditions: recoveredAt
      ? [
          { type: 'Ready', status: 'True', reason: 'StoreReady', message: `serving at ${url}`, lastTransitionTime: at },
          { type: 'Degraded', status: 'False', reason: 'AsExpected', message: '', lastTransitionTime: at },
        ]
      : [
          { type: 'Ready', status: 'False', reason: 'WorkloadUnavailable', message, lastTransitionTime: at },
          { type: 'Degraded', status: 'True', reason: 'WorkloadUnavailable', message, lastTransitionTime: at },
        ],
  });
}

/** GET /api/v1/engines as the sandbox answers it: WooCommerce is only simulated there. */
export function anEngineList(): EngineView[] {
  return [
    { name: 'woocommerce', label: 'WooCommerce', runs: 'simulated' },
    { name: 'medusa', label: 'MedusaJS', runs: 'real' },
  ];
}

/** In-memory Storage for the session. */
export class MemoryStorage implements Storage {
  private readonly items = new Map<string, string>();
  get length(): number {
    return this.items.size;
  }
  clear(): void {
    this.items.clear();
  }
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  key(index: number): string | null {
    return [...this.items.keys()][index] ?? null;
  }
  removeItem(key: string): void {
    this.items.delete(key);
  }
  setItem(key: string, value: string): void {
    this.items.set(key, value);
  }
}

/** Lets promise continuations (an awaited HTTP answer) run, then waits for the view to update. */
export async function settle(fixture: { whenStable(): Promise<unknown> }): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
  await fixture.whenStable();
}
