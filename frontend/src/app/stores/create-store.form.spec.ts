import { HttpTestingController } from '@angular/common/http/testing';
import { ComponentFixture, TestBed } from '@angular/core/testing';
import { aStore, provideConsoleTesting, settle } from '../testing';
import { CreateStoreForm } from './create-store.form';

describe(CreateStoreForm.name, () => {
  let fixture: ComponentFixture<CreateStoreForm>;
  let backend: HttpTestingController;
  let element: HTMLElement;

  beforeEach(async () => {
    TestBed.configureTestingModule({ providers: provideConsoleTesting() });
    fixture = TestBed.createComponent(CreateStoreForm);
    backend = TestBed.inject(HttpTestingController);
    element = fixture.nativeElement;
    await settle(fixture);
  });

  afterEach(() => {
    backend.verify();
    jest.useRealTimers();
  });

  const nameInput = () => element.querySelector<HTMLInputElement>('#store-name')!;
  const problem = () => element.querySelector('#store-name-problem')?.textContent?.trim();
  async function type(value: string): Promise<void> {
    nameInput().value = value;
    nameInput().dispatchEvent(new Event('input'));
    await settle(fixture);
  }
  async function submit(): Promise<void> {
    element.querySelector('form')!.dispatchEvent(new Event('submit'));
    await settle(fixture);
  }

  it.each([
    ['ab', 'name must be 3–40 characters long'],
    ['x'.repeat(41), 'name must be 3–40 characters long'],
    [
      'Fashion_Boutique',
      'name may contain only lowercase letters, digits and hyphens, and must start and end with a letter or digit',
    ],
    [
      '-boutique',
      'name may contain only lowercase letters, digits and hyphens, and must start and end with a letter or digit',
    ],
    ['admin', 'name "admin" is reserved'],
  ])('says why "%s" is not a store name, as the API would, before anything is sent', async (name, message) => {
    await type(name);

    expect(problem()).toBe(message);
    expect(nameInput().getAttribute('aria-invalid')).toBe('true');
    await submit();
    backend.expectNone('/api/v1/stores');
  });

  it('accepts a valid name and shows the host it becomes', async () => {
    await type('fashion-boutique');

    expect(problem()).toBeUndefined();
    expect(nameInput().hasAttribute('aria-invalid')).toBe(false);
    expect(element.textContent).toContain('fashion-boutique.<domain>');
  });

  it('asks for a name when submitted empty', async () => {
    await submit();

    expect(problem()).toBe('name must be 3–40 characters long');
    backend.expectNone('/api/v1/stores');
  });

  it('sends name, engine and an idempotency key, then clears the form', async () => {
    const created: unknown[] = [];
    fixture.componentInstance.created.subscribe((s) => created.push(s));
    await type('fashion-boutique');
    element.querySelector<HTMLInputElement>('input[value="medusa"]')!.click();
    await submit();

    const req = backend.expectOne('/api/v1/stores');
    expect(req.request.body).toEqual({ name: 'fashion-boutique', engine: 'medusa' });
    expect(req.request.headers.get('Idempotency-Key')).toMatch(/^[0-9a-f-]{36}$/);
    req.flush(aStore({ engine: 'medusa' }), { status: 202, statusText: 'Accepted' });
    await settle(fixture);

    expect(created).toHaveLength(1);
    expect(nameInput().value).toBe('');
  });

  it('shows a rate-limit refusal with its message and when to retry, and waits that long', async () => {
    await type('fashion-boutique');
    await submit();
    // From the refusal on, the countdown runs on a clock the test moves.
    jest.useFakeTimers();
    const render = async (ms: number) => {
      await jest.advanceTimersByTimeAsync(ms);
      fixture.detectChanges();
    };
    backend
      .expectOne('/api/v1/stores')
      .flush(
        { statusCode: 429, error: 'Too Many Requests', message: 'too many store creations' },
        { status: 429, statusText: 'Too Many Requests', headers: { 'Retry-After': '1' } },
      );
    await render(0);

    const alert = element.querySelector('[role="alert"]')!.textContent!;
    expect(alert).toContain('Too many requests: too many store creations');
    expect(alert).toContain('try again in 1 s');
    const button = element.querySelector<HTMLButtonElement>('button[type="submit"]')!;
    expect(button.disabled).toBe(true);

    await render(999);
    expect(button.disabled).toBe(true);
    await render(1);
    expect(button.disabled).toBe(false);
  });

  it('shows why the platform refused a name it cannot take', async () => {
    await type('fashion-boutique');
    await submit();
    backend
      .expectOne('/api/v1/stores')
      .flush(
        { statusCode: 409, error: 'Conflict', message: 'store name "fashion-boutique" is taken; choose another name' },
        { status: 409, statusText: 'Conflict' },
      );
    await settle(fixture);

    expect(element.querySelector('[role="alert"]')!.textContent).toContain(
      'Not launched: store name "fashion-boutique" is taken; choose another name',
    );
  });
});
