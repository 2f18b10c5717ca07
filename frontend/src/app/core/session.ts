import { computed, Injectable, InjectionToken, inject, signal } from '@angular/core';
import { Role } from './api.types';

/** Where the session lives: the tab's sessionStorage, so closing the tab signs out. */
export const SESSION_STORAGE = new InjectionToken<Storage>('SESSION_STORAGE', {
  providedIn: 'root',
  factory: () => sessionStorage,
});

const TOKEN_KEY = 'urumi.token';
const ROLE_KEY = 'urumi.role';

/** The signed-in user's bearer token and role. */
@Injectable({ providedIn: 'root' })
export class Session {
  private readonly storage = inject(SESSION_STORAGE);
  private readonly state = signal(this.restore());

  readonly token = computed(() => this.state()?.token ?? null);
  readonly role = computed(() => this.state()?.role ?? null);
  readonly signedIn = computed(() => this.state() !== null);
  readonly isAdmin = computed(() => this.state()?.role === 'admin');

  signIn(token: string, role: Role): void {
    this.storage.setItem(TOKEN_KEY, token);
    this.storage.setItem(ROLE_KEY, role);
    this.state.set({ token, role });
  }

  signOut(): void {
    this.storage.removeItem(TOKEN_KEY);
    this.storage.removeItem(ROLE_KEY);
    this.state.set(null);
  }

  private restore(): { token: string; role: Role } | null {
    const token = this.storage.getItem(TOKEN_KEY);
    const role = this.storage.getItem(ROLE_KEY);
    return token && (role === 'admin' || role === 'tenant') ? { token, role } : null;
  }
}
