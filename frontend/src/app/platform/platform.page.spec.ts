import { HttpTestingController } from '@angular/common/http/testing';
import { ComponentFixture, TestBed } from '@angular/core/testing';
import type { PlatformView } from '../core/api.types';
import { Session } from '../core/session';
import { provideConsoleTesting, settle } from '../testing';
import { PlatformPage } from './platform.page';

function aPlatformView(overrides: Partial<PlatformView> = {}): PlatformView {
  return {
    stores: { queued: 1, approved: 0, ready: 3, failed: 1, rejected: 1, deleting: 0 },
    degraded: 1,
    stages: [
      { stage: 'quota', stores: 1, oldestSeconds: 4 },
      { stage: 'provisioner', stores: 0, oldestSeconds: 0 },
      { stage: 'cleanup', stores: 0, oldestSeconds: 0 },
    ],
    recentFailures: [
      {
        id: 'id-taken',
        name: 'taken',
        engine: 'woocommerce',
        owner: 'alice',
        step: 'failed',
        reason: 'NamespaceNotOwned',
        message: 'namespace store-taken already exists and was not created by the platform',
        at: '2026-12-03T10:00:00.000Z',
      },
    ],
    consumers: [{ stream: 'STORES', consumer: 'gateway-store-all', pending: 2, ackPending: 1, redelivered: 0 }],
    deadLetters: 3,
    ...overrides,
  };
}

describe(PlatformPage.name, () => {
  let fixture: ComponentFixture<PlatformPage>;
  let backend: HttpTestingController;
  let element: HTMLElement;

  function setUp(): void {
    TestBed.configureTestingModule({ providers: provideConsoleTesting() });
    TestBed.inject(Session).signIn('token', 'admin');
    backend = TestBed.inject(HttpTestingController);
    fixture = TestBed.createComponent(PlatformPage);
    element = fixture.nativeElement;
    fixture.detectChanges();
  }

  afterEach(() => {
    fixture.destroy();
    backend.verify();
    jest.useRealTimers();
  });

  const request = () => backend.expectOne('/api/v1/platform');
  const figure = (selector: string) =>
    element.querySelector(`${selector} dd`)?.textContent?.replace(/\s+/g, ' ').trim();

  it('shows the stores by step, the work waiting, the event bus and the recent failures with their reasons', async () => {
    setUp();
    expect(element.querySelector('[aria-busy="true"]')).not.toBeNull();
    request().flush(aPlatformView());
    await settle(fixture);

    expect(figure('[data-step="ready"]')).toBe('3');
    expect(element.querySelector('[data-step="ready"] dt')?.textContent).toBe('Ready');
    expect(figure('[data-step="degraded"]')).toBe('1');
    expect(figure('[data-stage="quota"]')).toBe('1 (oldest 4 s)');
    expect(figure('[data-consumer="gateway-store-all"]')).toBe('2 pending, 1 unacknowledged');
    expect(figure('[data-figure="dead-letters"]')).toBe('3');
    const failure = element.querySelector('table.failures tr[data-store="taken"]')!.textContent!;
    expect(failure).toContain('NamespaceNotOwned');
    expect(failure).toContain('already exists and was not created by the platform');
    expect(failure).toContain('alice');
  });

  it("says when NATS's figures are unknown, and when nothing has failed", async () => {
    setUp();
    request().flush(aPlatformView({ consumers: null, deadLetters: null, recentFailures: [] }));
    await settle(fixture);

    expect(element.textContent).toContain('NATS did not answer in time');
    expect(element.querySelector('[data-figure="dead-letters"]')).toBeNull();
    expect(element.textContent).toContain('No store has failed or been refused.');
  });

  it('asks again every 10 seconds while open, and says why when it cannot', async () => {
    // The page's clock is one the test moves.
    jest.useFakeTimers();
    setUp();
    const render = async (ms: number) => {
      await jest.advanceTimersByTimeAsync(ms);
      fixture.detectChanges();
    };
    request().flush(aPlatformView());
    await render(0);
    expect(figure('[data-step="degraded"]')).toBe('1');

    await render(9_000);
    backend.expectNone('/api/v1/platform');
    await render(1_000);
    request().flush(
      { statusCode: 503, error: 'Service Unavailable', message: 'the read model is not ready yet' },
      { status: 503, statusText: 'Service Unavailable' },
    );
    await render(0);
    expect(element.querySelector('[role="alert"]')!.textContent).toContain('the read model is not ready yet');

    element.querySelector<HTMLButtonElement>('[role="alert"] button')!.click();
    request().flush(aPlatformView({ degraded: 0 }));
    await render(0);
    expect(figure('[data-step="degraded"]')).toBe('0');
  });
});
