import { DatePipe } from '@angular/common';
import { ChangeDetectionStrategy, Component, computed, effect, inject, input, signal } from '@angular/core';
import { Router, RouterLink } from '@angular/router';
import { StoreView } from '../core/api.types';
import { ApiError } from '../core/api-error';
import { Session } from '../core/session';
import { StoreState } from '../core/store-state';
import { StoresApi } from '../core/stores-api';
import { duration } from '../core/time';
import { StatusBadge } from '../shared/status-badge';
import { adminUrlOf, engineLabel, statusOf } from '../shared/steps';
import { DeleteDialog } from '../stores/delete-dialog';

/** The kubectl command an admin runs to read a store's generated credentials (never shown here). */
export function credentialsCommand(namespace: string): string {
  return (
    `kubectl get secret store-credentials -n ${namespace} ` +
    `-o go-template='{{range $k, $v := .data}}{{$k}}: {{$v | base64decode}}{{"\\n"}}{{end}}'`
  );
}

/** What a person can do about a store that ended badly. */
export function adviceFor(store: StoreView): string {
  if (store.step === 'rejected') {
    return store.reason === 'QuotaExceeded'
      ? 'Delete a store you no longer need, or ask a platform admin to raise your quota, then launch it again.'
      : 'Fix what the reason says, then launch the store again.';
  }
  return (
    'Delete this store and launch it again. Until you delete it, it stays as it failed (for you or an admin to ' +
    'inspect) and counts against your quota. If it fails again, a platform admin can look at ' +
    `\`kubectl describe store ${store.name}\` and \`kubectl get events -n ${store.namespace}\`.`
  );
}

/** One store: its provisioning timeline, conditions, where it is served and how to reach its credentials. */
@Component({
  selector: 'urumi-store-detail',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [DatePipe, RouterLink, StatusBadge, DeleteDialog],
  template: `
    <p class="crumbs"><a routerLink="/stores">← All stores</a></p>
    @if (store(); as s) {
      <div class="page-head">
        <h1>{{ s.name }}</h1>
        <urumi-status-badge [step]="shown().state" [label]="shown().label" />
      </div>

      @if (shown().state === 'degraded') {
        <section class="card card--warning" role="status" aria-labelledby="degraded-title">
          <h2 id="degraded-title">Degraded</h2>
          <p>{{ shown().reason }}</p>
          <p>
            The store was Ready and part of it is not serving now. The platform is bringing it back; it shows Ready
            again once every workload is up.
          </p>
        </section>
      }

      @if (s.step === 'failed' || s.step === 'rejected') {
        <section class="card card--danger" role="alert" aria-labelledby="failure-title">
          <h2 id="failure-title">{{ s.status }}{{ s.reason ? ': ' + s.reason : '' }}</h2>
          @if (s.message) {
            <p>{{ s.message }}</p>
          }
          <p><strong>What to do:</strong> {{ advice() }}</p>
        </section>
      }

      <div class="grid">
        <section class="card" aria-labelledby="access-title">
          <h2 id="access-title">Access</h2>
          <dl class="facts">
            <dt>Engine</dt>
            <dd>{{ engineLabel(s.engine) }}</dd>
            <dt>Storefront</dt>
            <dd>
              <code>{{ s.url }}</code>
            </dd>
            <dt>Admin</dt>
            <dd>
              <code>{{ adminUrl() }}</code>
            </dd>
            <dt>Namespace</dt>
            <dd>
              <code>{{ s.namespace }}</code>
            </dd>
            @if (session.isAdmin()) {
              <dt>Owner</dt>
              <dd>{{ s.owner }}</dd>
            }
            <dt>Created</dt>
            <dd>
              <time [attr.datetime]="s.createdAt">{{ s.createdAt | date: 'medium' }}</time>
            </dd>
          </dl>
          <div class="actions">
            @if (s.step === 'ready') {
              <a class="button" [href]="s.url" target="_blank" rel="noopener noreferrer">Visit store</a>
              <a class="button button--quiet" [href]="adminUrl()" target="_blank" rel="noopener noreferrer"
                >Open store admin</a
              >
            } @else {
              <span class="muted">“Visit store” is available once the store is Ready.</span>
            }
          </div>
          <h3>Admin credentials</h3>
          <p class="help">
            Generated inside the store's namespace and never shown by the platform. A platform admin reads them with:
          </p>
          <pre class="command"><code>{{ command() }}</code></pre>
          <button type="button" class="button button--small button--quiet" (click)="copy()">
            {{ copied() ? 'Copied' : 'Copy command' }}
          </button>
        </section>

        <section class="card" aria-labelledby="timeline-title">
          <h2 id="timeline-title">Timeline</h2>
          <ol class="timeline">
            @for (entry of timeline(); track $index) {
              <li [attr.data-step]="entry.step">
                <span class="timeline__label">{{ entry.label }}</span>
                <time [attr.datetime]="entry.at">{{ entry.at | date: 'HH:mm:ss.SSS' }}</time>
                <span class="timeline__took">{{ entry.took }}</span>
                @if (entry.message) {
                  <span class="reason">{{ entry.reason }}{{ entry.reason ? ': ' : '' }}{{ entry.message }}</span>
                }
              </li>
            }
          </ol>
        </section>
      </div>

      <section class="card" aria-labelledby="conditions-title">
        <h2 id="conditions-title">Conditions</h2>
        @if (s.conditions.length) {
          <table class="conditions">
            <thead>
              <tr>
                <th scope="col">Type</th>
                <th scope="col">Status</th>
                <th scope="col">Reason</th>
                <th scope="col">Message</th>
                <th scope="col">Since</th>
              </tr>
            </thead>
            <tbody>
              @for (c of s.conditions; track c.type) {
                <tr>
                  <th scope="row" data-label="Type">{{ c.type }}</th>
                  <td data-label="Status">{{ c.status }}</td>
                  <td data-label="Reason">{{ c.reason }}</td>
                  <td data-label="Message">{{ c.message }}</td>
                  <td data-label="Since">{{ c.lastTransitionTime | date: 'medium' }}</td>
                </tr>
              }
            </tbody>
          </table>
        } @else {
          <p class="muted">No conditions yet: they appear once the provisioner reconciles the store.</p>
        }
      </section>

      <section class="card" aria-labelledby="danger-title">
        <h2 id="danger-title">Delete</h2>
        @if (s.step === 'deleting') {
          <p role="status">Deleting: the platform is tearing the store down.</p>
        } @else {
          <button type="button" class="button button--danger" (click)="dialog.open(s)">Delete {{ s.name }}</button>
        }
        @if (actionError(); as message) {
          <p class="error" role="alert">{{ message }}</p>
        }
      </section>
      <urumi-delete-dialog #dialog (confirmed)="delete($event)" />
    } @else {
      @switch (missing()) {
        @case ('loading') {
          <p class="state" role="status" aria-busy="true">Loading the store…</p>
        }
        @case ('deleted') {
          <p class="state" role="status">
            This store has been deleted. <a routerLink="/stores">Back to your stores</a>
          </p>
        }
        @default {
          <p class="state" role="alert">{{ loadError() }} <a routerLink="/stores">Back to your stores</a></p>
        }
      }
    }
  `,
})
export class StoreDetailPage {
  protected readonly session = inject(Session);
  private readonly state = inject(StoreState);
  private readonly api = inject(StoresApi);
  private readonly router = inject(Router);

  readonly id = input.required<string>();
  protected readonly engineLabel = engineLabel;
  protected readonly loadError = signal<string | null>(null);
  protected readonly actionError = signal<string | null>(null);
  protected readonly copied = signal(false);

  protected readonly store = computed(() => this.state.store(this.id()));
  protected readonly missing = computed(() =>
    this.state.wasDeleted(this.id()) ? 'deleted' : this.loadError() ? 'error' : 'loading',
  );
  /** The headline's status: Degraded for a Ready store that lost part of its workload. */
  protected readonly shown = computed(() => {
    const s = this.store();
    return s ? statusOf(s) : { state: '', label: '' };
  });
  protected readonly adminUrl = computed(() => {
    const s = this.store();
    return s ? adminUrlOf(s.engine, s.url) : '';
  });
  protected readonly command = computed(() => credentialsCommand(this.store()?.namespace ?? ''));
  protected readonly advice = computed(() => {
    const s = this.store();
    return s ? adviceFor(s) : '';
  });
  /** Each step with how long it took until the next one. */
  protected readonly timeline = computed(() => {
    const history = this.store()?.history ?? [];
    return history.map((entry, i) => {
      const next = history[i + 1];
      const terminal = ['ready', 'failed', 'rejected'].includes(entry.step);
      const took = next
        ? `took ${duration(Date.parse(next.at) - Date.parse(entry.at))}`
        : terminal
          ? ''
          : 'in progress';
      return { ...entry, took };
    });
  });

  constructor() {
    effect(() => {
      const id = this.id();
      this.loadError.set(null);
      this.api.get(id).then(
        (store) => this.state.upsert(store),
        (error: unknown) => {
          if (this.state.store(id)) return;
          const apiError = ApiError.from(error);
          this.loadError.set(
            apiError.status === 404 ? 'No such store.' : `Could not load the store: ${apiError.message}`,
          );
        },
      );
    });
  }

  protected async delete(store: StoreView): Promise<void> {
    this.actionError.set(null);
    try {
      this.state.upsert(await this.api.delete(store.id, crypto.randomUUID()));
      await this.router.navigate(['/stores']);
    } catch (error) {
      this.actionError.set(`Could not delete ${store.name}: ${ApiError.from(error).message}`);
    }
  }

  protected async copy(): Promise<void> {
    await navigator.clipboard?.writeText(this.command());
    this.copied.set(true);
    setTimeout(() => this.copied.set(false), 2000);
  }
}
