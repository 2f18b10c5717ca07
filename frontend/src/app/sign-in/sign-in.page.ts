import { ChangeDetectionStrategy, Component, inject, input, signal } from '@angular/core';
import { Router } from '@angular/router';
import { ApiError } from '../core/api-error';
import { Session } from '../core/session';
import { StoresApi } from '../core/stores-api';

/** Sign in with a bearer token (locally, `npm start` prints one; .sandbox/tokens.json holds them all). */
@Component({
  selector: 'urumi-sign-in',
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <section class="card narrow">
      <h1>Sign in</h1>
      @if (expired()) {
        <p class="notice" role="status">Your session ended. Sign in again to continue.</p>
      }
      <form (submit)="submit($event, tokenInput.value)" novalidate>
        <label for="token">Access token</label>
        <input
          #tokenInput
          id="token"
          name="token"
          type="password"
          autocomplete="off"
          spellcheck="false"
          required
          aria-describedby="token-help"
          [attr.aria-invalid]="error() ? true : null"
          [attr.aria-errormessage]="error() ? 'token-error' : null"
        />
        <p id="token-help" class="help">
          Locally, <code>npm start</code> prints an admin token; the tenants' tokens are in
          <code>.sandbox/tokens.json</code>. The token stays in this tab only.
        </p>
        @if (error(); as message) {
          <p id="token-error" class="error" role="alert">{{ message }}</p>
        }
        <button type="submit" class="button" [disabled]="busy()">{{ busy() ? 'Checking…' : 'Sign in' }}</button>
      </form>
    </section>
  `,
})
export class SignInPage {
  private readonly api = inject(StoresApi);
  private readonly session = inject(Session);
  private readonly router = inject(Router);

  readonly returnUrl = input<string>();
  readonly expired = input<string>();
  protected readonly busy = signal(false);
  protected readonly error = signal<string | null>(null);

  protected async submit(event: Event, value: string): Promise<void> {
    event.preventDefault();
    const token = value.trim();
    if (!token) {
      this.error.set('Enter your access token.');
      return;
    }
    this.busy.set(true);
    this.error.set(null);
    try {
      this.session.signIn(token, (await this.api.whoIs(token)).role);
      const target = this.returnUrl();
      await this.router.navigateByUrl(target?.startsWith('/') && !target.startsWith('//') ? target : '/stores');
    } catch (error) {
      const apiError = ApiError.from(error);
      this.error.set(apiError.status === 401 ? 'That token is not valid. Check it and try again.' : apiError.message);
    } finally {
      this.busy.set(false);
    }
  }
}
