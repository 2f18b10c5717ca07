import { ChangeDetectionStrategy, Component, computed, inject, OnInit, output, signal } from '@angular/core';
import { EngineName, EngineRuns, storeNameProblem } from '@urumi/contracts';
import { StoreView } from '../core/api.types';
import { ApiError } from '../core/api-error';
import { EnginesApi } from '../core/engines-api';
import { StoresApi } from '../core/stores-api';
import { ENGINES } from '../shared/steps';

/** An engine on offer; `runs` is unknown until the gateway says (or if it cannot). */
interface EngineChoice {
  readonly name: EngineName;
  readonly label: string;
  readonly runs?: EngineRuns;
}

/** The first engine that runs for real, else the first one (the list is never empty: see loadEngines). */
function defaultEngine(engines: readonly EngineChoice[]): EngineName {
  return (engines.find((engine) => engine.runs === 'real') ?? engines[0])?.name ?? 'woocommerce';
}

/**
 * Name + engine → POST /api/v1/stores. The name rule is the gateway's own (from @urumi/contracts), shown
 * as the user types; what only the platform can refuse (a taken name, a rate limit) shows after submit. Each
 * engine says when this cluster only simulates it, and the choice starts on one that runs for real.
 */
@Component({
  selector: 'urumi-create-store',
  changeDetection: ChangeDetectionStrategy.OnPush,
  // Under its engine's name, not between two engines.
  styles: `
    .engine-note {
      margin: -0.5rem 0 0.25rem 2rem;
    }
  `,
  template: `
    <form class="create" (submit)="submit($event)" novalidate aria-labelledby="create-title">
      <h2 id="create-title">Launch a store</h2>
      <div class="field">
        <label for="store-name">Store name</label>
        <input
          id="store-name"
          name="name"
          type="text"
          autocomplete="off"
          spellcheck="false"
          required
          [value]="name()"
          (input)="onName(nameInput.value)"
          (blur)="touched.set(true)"
          #nameInput
          aria-describedby="store-name-help"
          [attr.aria-invalid]="showProblem() ? true : null"
          [attr.aria-errormessage]="showProblem() ? 'store-name-problem' : null"
        />
        <p id="store-name-help" class="help">
          Lowercase letters, digits and hyphens; becomes <code>{{ host() }}</code>.
        </p>
        @if (showProblem()) {
          <p id="store-name-problem" class="error" role="alert">{{ problem() }}</p>
        }
      </div>
      <fieldset class="field">
        <legend>Engine</legend>
        @for (engine of engines(); track engine.name) {
          <div>
            <label class="choice">
              <input
                type="radio"
                name="engine"
                [value]="engine.name"
                [checked]="engine.name === selectedEngine()"
                (change)="chosenEngine.set(engine.name)"
                (click)="chosenEngine.set(engine.name)"
                [attr.aria-describedby]="engine.runs === 'simulated' ? noteId(engine.name) : null"
              />
              {{ engine.label }}
            </label>
            @if (engine.runs === 'simulated') {
              <p class="help engine-note" [id]="noteId(engine.name)">
                Simulated on this cluster: its pods are scheduled, no container runs.
              </p>
            }
          </div>
        }
        @if (enginesUnknown(); as message) {
          <p class="help" role="status">Could not tell which engines run for real on this cluster: {{ message }}</p>
        }
      </fieldset>
      <button type="submit" class="button" [disabled]="busy() || waitSeconds() > 0">
        {{ busy() ? 'Launching…' : 'Launch store' }}
      </button>
      @if (refusal(); as message) {
        <p class="error" role="alert">
          {{ message }}
          @if (waitSeconds() > 0) {
            <span class="retry">You can try again in {{ waitSeconds() }} s.</span>
          }
        </p>
      }
    </form>
  `,
})
export class CreateStoreForm implements OnInit {
  private readonly api = inject(StoresApi);
  private readonly enginesApi = inject(EnginesApi);

  readonly created = output<StoreView>();

  /** Until the gateway answers, every engine, with nothing said about how it runs. */
  protected readonly engines = signal<readonly EngineChoice[]>(ENGINES);
  protected readonly enginesUnknown = signal<string | null>(null);
  /**
   * What the user picked (on click too: confirming the engine shown as the default fires no change, yet must
   * hold when the gateway's answer moves the default); until then, the default of the engines as last known.
   */
  protected readonly chosenEngine = signal<EngineName | null>(null);
  protected readonly selectedEngine = computed(() => this.chosenEngine() ?? defaultEngine(this.engines()));
  protected readonly name = signal('');
  protected readonly touched = signal(false);
  protected readonly busy = signal(false);
  protected readonly refusal = signal<string | null>(null);
  protected readonly waitSeconds = signal(0);
  protected readonly problem = computed(() => storeNameProblem(this.name()));
  /** Shown once there is something to judge: after typing, or on submit. */
  protected readonly showProblem = computed(() => (this.touched() || this.name() !== '') && !!this.problem());
  protected readonly host = computed(() => `${this.name() || '<name>'}.<domain>`);
  /** One key per intended store: a retry after a lost answer cannot create it twice. */
  private idempotencyKey = crypto.randomUUID();
  private countdown?: ReturnType<typeof setInterval>;

  ngOnInit(): void {
    void this.loadEngines();
  }

  protected noteId(engine: EngineName): string {
    return `engine-${engine}-note`;
  }

  private async loadEngines(): Promise<void> {
    try {
      const engines = await this.enginesApi.list();
      if (engines.length > 0) this.engines.set(engines);
    } catch (error) {
      this.enginesUnknown.set(ApiError.from(error).message);
    }
  }

  protected onName(value: string): void {
    this.name.set(value);
    this.refusal.set(null);
  }

  protected async submit(event: Event): Promise<void> {
    event.preventDefault();
    this.touched.set(true);
    if (this.problem() || this.busy()) return;
    this.busy.set(true);
    this.refusal.set(null);
    try {
      const store = await this.api.create({ name: this.name(), engine: this.selectedEngine() }, this.idempotencyKey);
      this.created.emit(store);
      this.name.set('');
      this.touched.set(false);
      this.idempotencyKey = crypto.randomUUID();
    } catch (error) {
      const apiError = ApiError.from(error);
      // A refused request created nothing: the next attempt is a new request.
      if (apiError.status >= 400 && apiError.status < 500) this.idempotencyKey = crypto.randomUUID();
      this.refusal.set(
        apiError.status === 429 ? `Too many requests: ${apiError.message}` : `Not launched: ${apiError.message}`,
      );
      if (apiError.retryAfterSeconds) this.startCountdown(apiError.retryAfterSeconds);
    } finally {
      this.busy.set(false);
    }
  }

  private startCountdown(seconds: number): void {
    clearInterval(this.countdown);
    this.waitSeconds.set(seconds);
    this.countdown = setInterval(() => {
      this.waitSeconds.update((s) => Math.max(0, s - 1));
      if (this.waitSeconds() === 0) clearInterval(this.countdown);
    }, 1000);
  }
}
