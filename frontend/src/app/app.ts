import { ChangeDetectionStrategy, Component, computed, effect, inject } from '@angular/core';
import { Router, RouterLink, RouterLinkActive, RouterOutlet } from '@angular/router';
import { LiveStatus } from './core/live-status';
import { Session } from './core/session';
import { StoreState } from './core/store-state';

/** The shell: header with navigation, the live-status indicator and sign-out; pages below. */
@Component({
  selector: 'urumi-root',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [RouterOutlet, RouterLink, RouterLinkActive],
  template: `
    <a class="skip-link" href="#content">Skip to content</a>
    <header class="topbar">
      <a class="brand" routerLink="/stores">Urumi</a>
      @if (session.signedIn()) {
        <nav aria-label="Main">
          <a routerLink="/stores" routerLinkActive="active" ariaCurrentWhenActive="page">Stores</a>
          @if (session.isAdmin()) {
            <a routerLink="/audit" routerLinkActive="active" ariaCurrentWhenActive="page">Audit trail</a>
            <a routerLink="/platform" routerLinkActive="active" ariaCurrentWhenActive="page">Platform</a>
          }
        </nav>
        <span class="live" [attr.data-state]="live.state()" role="status" aria-live="polite">
          <span class="live__dot" aria-hidden="true"></span>{{ liveText() }}
        </span>
        <span class="who">{{ session.role() === 'admin' ? 'Admin' : 'Tenant' }}</span>
        <button type="button" class="button button--quiet" (click)="signOut()">Sign out</button>
      }
    </header>
    <main id="content" tabindex="-1">
      <router-outlet />
    </main>
  `,
})
export class App {
  protected readonly session = inject(Session);
  protected readonly live = inject(LiveStatus);
  private readonly stores = inject(StoreState);
  private readonly router = inject(Router);

  protected readonly liveText = computed(() => {
    switch (this.live.state()) {
      case 'online':
        return 'Live';
      case 'connecting':
        return 'Connecting…';
      case 'offline':
        return 'Offline — reconnecting';
    }
  });

  constructor() {
    effect(() => {
      if (this.session.signedIn()) this.live.connect();
      else {
        this.live.disconnect();
        this.stores.clear();
      }
    });
  }

  protected signOut(): void {
    this.session.signOut();
    void this.router.navigate(['/sign-in']);
  }
}
