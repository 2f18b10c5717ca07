import { HttpTestingController } from '@angular/common/http/testing';
import { ComponentFixture, TestBed } from '@angular/core/testing';
import { StoreView } from '../core/api.types';
import { Session } from '../core/session';
import { StoreState } from '../core/store-state';
import { aDegradedStore, aStore, provideConsoleTesting, settle } from '../testing';
import { StoreDetailPage } from './store-detail.page';

describe(StoreDetailPage.name, () => {
  let fixture: ComponentFixture<StoreDetailPage>;
  let backend: HttpTestingController;
  let element: HTMLElement;

  async function show(store: StoreView | { status: number; message: string }): Promise<void> {
    TestBed.configureTestingModule({ providers: provideConsoleTesting() });
    TestBed.inject(Session).signIn('token', 'tenant');
    backend = TestBed.inject(HttpTestingController);
    fixture = TestBed.createComponent(StoreDetailPage);
    fixture.componentRef.setInput('id', 'id-fashion-boutique');
    element = fixture.nativeElement;
    fixture.detectChanges();
    const req = backend.expectOne('/api/v1/stores/id-fashion-boutique');
    if ('id' in store) req.flush(store);
    else req.flush({ statusCode: store.status, message: store.message }, { status: store.status, statusText: 'x' });
    await settle(fixture);
  }

  afterEach(() => backend.verify());

  const text = () => element.textContent!.replace(/\s+/g, ' ');

  it('shows each step of the timeline with its time and how long it took', async () => {
    await show(
      aStore({
        step: 'namespace-ready',
        status: 'Namespace ready',
        history: [
          { step: 'queued', label: 'Queued', at: '2026-01-01T10:00:00.000Z' },
          { step: 'approved', label: 'Approved', at: '2026-01-01T10:00:00.250Z' },
          { step: 'namespace-ready', label: 'Namespace ready', at: '2026-01-01T10:00:02.750Z' },
        ],
      }),
    );

    const steps = [...element.querySelectorAll('ol.timeline li')].map((li) => li.textContent!.replace(/\s+/g, ' '));
    expect(steps).toHaveLength(3);
    expect(steps[0]).toContain('Queued');
    expect(steps[0]).toContain('took 250 ms');
    expect(steps[1]).toContain('took 2.5 s');
    expect(steps[2]).toContain('Namespace ready');
    expect(steps[2]).toContain('in progress');
    expect(element.querySelector('ol.timeline time')!.getAttribute('datetime')).toBe('2026-01-01T10:00:00.000Z');
  });

  it('shows where the store is served, its namespace and the kubectl command for its credentials, never a secret', async () => {
    await show(aStore({ step: 'ready', status: 'Ready' }));

    expect(text()).toContain('http://fashion-boutique.127.0.0.1.nip.io');
    expect(text()).toContain('http://fashion-boutique.127.0.0.1.nip.io/wp-admin/');
    expect(text()).toContain('store-fashion-boutique');
    expect(element.querySelector('pre.command')!.textContent).toContain(
      'kubectl get secret store-credentials -n store-fashion-boutique',
    );
    const visit = [...element.querySelectorAll<HTMLAnchorElement>('a')].find((a) => a.textContent === 'Visit store');
    expect(visit?.href).toBe('http://fashion-boutique.127.0.0.1.nip.io/');
    expect(visit?.rel).toContain('noopener');
  });

  it('shows conditions with their reasons', async () => {
    await show(
      aStore({
        conditions: [{ type: 'Progressing', status: 'True', reason: 'WorkloadInstalling', message: 'helm install' }],
      }),
    );

    const cells = [...element.querySelectorAll('table.conditions tbody tr > *')].map((c) => c.textContent!.trim());
    expect(cells.slice(0, 4)).toEqual(['Progressing', 'True', 'WorkloadInstalling', 'helm install']);
  });

  it('says why a store failed and what to do about it', async () => {
    await show(
      aStore({
        step: 'failed',
        status: 'Failed',
        reason: 'WorkloadTimeout',
        message: 'the workload was not ready within 10 minutes',
      }),
    );

    const alert = element.querySelector('[role="alert"]')!.textContent!.replace(/\s+/g, ' ');
    expect(alert).toContain('Failed: WorkloadTimeout');
    expect(alert).toContain('the workload was not ready within 10 minutes');
    expect(alert).toContain('What to do: Delete this store and launch it again');
    expect(alert).toContain('Until you delete it, it stays as it failed');
    expect(alert).toContain('counts against your quota');
    expect(alert).toContain('kubectl get events -n store-fashion-boutique');
  });

  it('says what to do when quota rejected the store', async () => {
    await show(
      aStore({ step: 'rejected', status: 'Rejected', reason: 'QuotaExceeded', message: 'quota: 3 of 3 active stores' }),
    );

    const alert = element.querySelector('[role="alert"]')!.textContent!;
    expect(alert).toContain('quota: 3 of 3 active stores');
    expect(alert).toContain('ask a platform admin to raise your quota');
  });

  it('says so when the store does not exist (or is not yours)', async () => {
    await show({ status: 404, message: 'store id-fashion-boutique not found' });

    expect(element.querySelector('[role="alert"]')!.textContent).toContain('No such store.');
  });

  it('says so when the store is deleted while it is open', async () => {
    await show(aStore());

    TestBed.inject(StoreState).remove('id-fashion-boutique');
    await settle(fixture);

    expect(text()).toContain('This store has been deleted.');
  });

  it('headlines a Ready store whose workload is unavailable as Degraded, with the reason, and Ready again once it is back', async () => {
    const message = 'Deployment store-server: 1 of 1 replicas unavailable';
    await show(aDegradedStore(message));

    const badge = () => element.querySelector('.page-head .badge')!;
    const notice = () => element.querySelector('section[aria-labelledby="degraded-title"]');
    expect(badge().textContent!.trim()).toBe('Degraded');
    expect(notice()!.getAttribute('role')).toBe('status');
    expect(notice()!.textContent).toContain(message);
    expect(notice()!.textContent).toContain('shows Ready again once every workload is up');

    TestBed.inject(StoreState).upsert(aDegradedStore(message, { recoveredAt: '2026-01-01T10:06:00.000Z' }));
    await settle(fixture);
    expect(badge().textContent!.trim()).toBe('Ready');
    expect(notice()).toBeNull();
  });

  it('keeps a Failed store Failed, though its Degraded condition says so too', async () => {
    const message = 'Job setup-1 failed (BackoffLimitExceeded: boom)';
    await show(
      aStore({
        step: 'failed',
        status: 'Failed',
        reason: 'SetupJobFailed',
        message,
        conditions: [{ type: 'Degraded', status: 'True', reason: 'SetupJobFailed', message }],
      }),
    );

    expect(element.querySelector('.page-head .badge')!.textContent!.trim()).toBe('Failed');
    expect(element.querySelector('section[aria-labelledby="degraded-title"]')).toBeNull();
  });
});
