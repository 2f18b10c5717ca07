import { HttpTestingController } from '@angular/common/http/testing';
import { ComponentFixture, TestBed } from '@angular/core/testing';
import { Session } from '../core/session';
import { StoreState } from '../core/store-state';
import { aDegradedStore, aStore, anEngineList, provideConsoleTesting, settle } from '../testing';
import { StoresPage } from './stores.page';

describe(StoresPage.name, () => {
  let fixture: ComponentFixture<StoresPage>;
  let backend: HttpTestingController;
  let element: HTMLElement;

  function setUp(role: 'admin' | 'tenant' = 'tenant'): void {
    TestBed.configureTestingModule({ providers: provideConsoleTesting() });
    TestBed.inject(Session).signIn('token', role);
    backend = TestBed.inject(HttpTestingController);
    fixture = TestBed.createComponent(StoresPage);
    element = fixture.nativeElement;
    fixture.detectChanges();
    backend.expectOne('/api/v1/engines').flush(anEngineList());
  }

  afterEach(() => backend.verify());

  const listRequest = () => backend.expectOne((req) => req.url === '/api/v1/stores' && req.method === 'GET');
  const rows = () => [...element.querySelectorAll<HTMLElement>('tbody tr')];
  const state = () => element.querySelector('.state')?.textContent?.trim();

  it('shows that it is loading until the list arrives', async () => {
    setUp();

    expect(state()).toBe('Loading stores…');
    expect(element.querySelector('[aria-busy="true"]')).not.toBeNull();
    listRequest().flush({ items: [] });
    await settle(fixture);
    expect(state()).toBe('No stores yet. Launch your first one above.');
  });

  it('shows why the list could not be loaded, and loads it again on request', async () => {
    setUp();
    listRequest().flush(
      { statusCode: 503, error: 'Service Unavailable', message: 'the read model is not ready yet' },
      { status: 503, statusText: 'Service Unavailable' },
    );
    await settle(fixture);

    expect(element.querySelector('[role="alert"]')!.textContent).toContain(
      'Could not load your stores: the read model is not ready yet',
    );
    element.querySelector<HTMLButtonElement>('[role="alert"] button')!.click();
    listRequest().flush({ items: [aStore()] });
    await settle(fixture);
    expect(rows()).toHaveLength(1);
  });

  it("lists each store's name, engine, status, URL, creation time and age, without owners for a tenant", async () => {
    setUp();
    listRequest().flush({
      items: [
        aStore({ name: 'bakery', engine: 'medusa', step: 'ready', status: 'Ready', createdAt: '2026-01-02T00:00:00Z' }),
        aStore({
          name: 'boutique',
          step: 'rejected',
          status: 'Rejected',
          reason: 'QuotaExceeded',
          message: 'quota: 3 of 3 active stores',
        }),
      ],
    });
    await settle(fixture);

    const [bakery, boutique] = rows();
    expect(bakery!.querySelector('[data-label="Name"]')!.textContent!.trim()).toBe('bakery');
    expect(bakery!.querySelector('[data-label="Engine"]')!.textContent!.trim()).toBe('MedusaJS');
    expect(bakery!.querySelector('.badge')!.textContent!.trim()).toBe('Ready');
    expect(bakery!.querySelector<HTMLAnchorElement>('[data-label="URL"] a')!.href).toBe(
      'http://bakery.127.0.0.1.nip.io/',
    );
    expect(bakery!.querySelector('time')!.getAttribute('datetime')).toBe('2026-01-02T00:00:00Z');
    expect(bakery!.querySelector('[data-label="Age"]')!.textContent!.trim()).toMatch(/\d+ (min|h|d)|just now/);
    expect(boutique!.querySelector('[data-label="Status"]')!.textContent).toContain('quota: 3 of 3 active stores');
    expect(element.querySelector('[data-label="Owner"]')).toBeNull();
  });

  it('shows every store with its owner to an admin', async () => {
    setUp('admin');
    listRequest().flush({ items: [aStore({ owner: 'bob' })] });
    await settle(fixture);

    expect(rows()[0]!.querySelector('[data-label="Owner"]')!.textContent!.trim()).toBe('bob');
  });

  it('filters by status and says when nothing matches', async () => {
    setUp();
    listRequest().flush({
      items: [aStore({ name: 'bakery', step: 'ready', status: 'Ready' }), aStore({ name: 'boutique' })],
    });
    await settle(fixture);
    const select = element.querySelector<HTMLSelectElement>('#status-filter')!;

    select.value = 'ready';
    select.dispatchEvent(new Event('change'));
    await settle(fixture);
    expect(rows().map((r) => r.dataset['store'])).toEqual(['bakery']);

    select.value = 'failed';
    select.dispatchEvent(new Event('change'));
    await settle(fixture);
    expect(rows()).toHaveLength(0);
    expect(state()).toBe('No stores are Failed.');
  });

  it('follows live changes: a store turns Deleting, then leaves the list', async () => {
    setUp();
    const store = aStore();
    listRequest().flush({ items: [store] });
    await settle(fixture);
    const stores = TestBed.inject(StoreState);

    stores.upsert({
      ...store,
      step: 'deleting',
      status: 'Deleting',
      history: [...store.history, { step: 'deleting', label: 'Deleting', at: '2026-01-01T10:01:00Z' }],
    });
    await settle(fixture);
    expect(rows()[0]!.querySelector('.badge')!.textContent!.trim()).toBe('Deleting');
    expect(rows()[0]!.querySelector<HTMLButtonElement>('button')!.disabled).toBe(true);

    stores.remove(store.id);
    await settle(fixture);
    expect(rows()).toHaveLength(0);
  });

  it('shows a Ready store whose workload is unavailable as Degraded, with the reason, and Ready again once it is back', async () => {
    setUp();
    const message = 'Deployment store-server: 1 of 1 replicas unavailable';
    listRequest().flush({ items: [aDegradedStore(message)] });
    await settle(fixture);

    const status = () => rows()[0]!.querySelector('[data-label="Status"]')!;
    expect(status().querySelector('.badge')!.textContent!.trim()).toBe('Degraded');
    expect(status().querySelector('.badge')!.classList).toContain('badge--warning');
    expect(status().querySelector('.reason')!.textContent!.trim()).toBe(message);

    TestBed.inject(StoreState).upsert(aDegradedStore(message, { recoveredAt: '2026-01-01T10:06:00.000Z' }));
    await settle(fixture);
    expect(status().querySelector('.badge')!.textContent!.trim()).toBe('Ready');
    expect(status().querySelector('.badge')!.classList).toContain('badge--success');
    expect(status().querySelector('.reason')).toBeNull();
  });
});
