import { HttpTestingController } from '@angular/common/http/testing';
import { ComponentFixture, TestBed } from '@angular/core/testing';
import type { EngineView } from '@urumi/contracts';
import { aStore, anEngineList, provideConsoleTesting, settle } from '../testing';
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
  async function answerEngines(engines: EngineView[] = anEngineList()): Promise<void> {
    backend.expectOne({ method: 'GET', url: '/api/v1/engines' }).flush(engines);
    await settle(fixture);
  }
  const radio = (engine: string) => element.querySelector<HTMLInputElement>(`input[type="radio"][value="${engine}"]`)!;
  const checkedEngine = () => element.querySelector<HTMLInputElement>('input[type="radio"]:checked')?.value;
  /** The text the radio is described by, as a screen reader reads it after the engine's name. */
  const descriptionOf = (engine: string) => {
    const ids = radio(engine).getAttribute('aria-describedby');
    return ids?.split(' ').map((id) => element.querySelector(`#${id}`)?.textContent?.trim());
  };
  async function sentEngine(): Promise<unknown> {
    await type('fashion-boutique');
    await submit();
    const req = backend.expectOne('/api/v1/stores');
    req.flush(aStore(), { status: 202, statusText: 'Accepted' });
    await settle(fixture);
    return (req.request.body as { engine: unknown }).engine;
  }

  describe('how each engine runs on this cluster', () => {
    const SIMULATED_NOTE = 'Simulated on this cluster: its pods are scheduled, no container runs.';

    it('notes the engine this cluster only simulates, tied to its radio, and says nothing of the real one', async () => {
      await answerEngines();

      expect(descriptionOf('woocommerce')).toEqual([SIMULATED_NOTE]);
      expect(descriptionOf('medusa')).toBeUndefined();
      expect(element.querySelectorAll('fieldset .help')).toHaveLength(1);
      expect(element.querySelector('label:has(input[value="woocommerce"])')!.textContent!.trim()).toBe('WooCommerce');
    });

    it('starts on the engine that runs for real, and sends it when the user picks none', async () => {
      await answerEngines();

      expect(checkedEngine()).toBe('medusa');
      expect(await sentEngine()).toBe('medusa');
    });

    it('still lets the user pick a simulated engine, and sends that', async () => {
      await answerEngines();
      radio('woocommerce').click();
      await settle(fixture);

      expect(checkedEngine()).toBe('woocommerce');
      expect(await sentEngine()).toBe('woocommerce');
    });

    it('keeps what the user picked before the gateway answered', async () => {
      radio('woocommerce').click();
      await answerEngines();

      expect(checkedEngine()).toBe('woocommerce');
      expect(descriptionOf('woocommerce')).toEqual([SIMULATED_NOTE]);
    });

    it('notes nothing where every engine runs for real, and starts on the first', async () => {
      await answerEngines(anEngineList().map((engine) => ({ ...engine, runs: 'real' })));

      expect(element.querySelectorAll('fieldset .help')).toHaveLength(0);
      expect(descriptionOf('woocommerce')).toBeUndefined();
      expect(checkedEngine()).toBe('woocommerce');
    });

    it('notes every engine where none runs for real, and starts on the first', async () => {
      await answerEngines(anEngineList().map((engine) => ({ ...engine, runs: 'simulated' })));

      expect(descriptionOf('woocommerce')).toEqual([SIMULATED_NOTE]);
      expect(descriptionOf('medusa')).toEqual([SIMULATED_NOTE]);
      expect(checkedEngine()).toBe('woocommerce');
    });

    it('says plainly when it cannot tell how the engines run, and still offers them all', async () => {
      backend
        .expectOne('/api/v1/engines')
        .flush(
          { statusCode: 503, error: 'Service Unavailable', message: 'the event bus is unavailable' },
          { status: 503, statusText: 'Service Unavailable' },
        );
      await settle(fixture);

      expect(element.querySelector('fieldset [role="status"]')!.textContent!.trim()).toBe(
        'Could not tell which engines run for real on this cluster: the event bus is unavailable',
      );
      expect([...element.querySelectorAll<HTMLInputElement>('input[type="radio"]')].map((r) => r.value)).toEqual([
        'woocommerce',
        'medusa',
      ]);
      expect(descriptionOf('woocommerce')).toBeUndefined();
      expect(checkedEngine()).toBe('woocommerce');
    });
  });

  describe('the name and the request', () => {
    beforeEach(() => answerEngines());

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
      radio('woocommerce').click();
      await submit();

      const req = backend.expectOne('/api/v1/stores');
      expect(req.request.body).toEqual({ name: 'fashion-boutique', engine: 'woocommerce' });
      expect(req.request.headers.get('Idempotency-Key')).toMatch(/^[0-9a-f-]{36}$/);
      req.flush(aStore(), { status: 202, statusText: 'Accepted' });
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
      backend.expectOne('/api/v1/stores').flush(
        {
          statusCode: 409,
          error: 'Conflict',
          message: 'store name "fashion-boutique" is taken; choose another name',
        },
        { status: 409, statusText: 'Conflict' },
      );
      await settle(fixture);

      expect(element.querySelector('[role="alert"]')!.textContent).toContain(
        'Not launched: store name "fashion-boutique" is taken; choose another name',
      );
    });
  });
});
