import { DatePipe } from '@angular/common';
import { ChangeDetectionStrategy, Component, computed, inject, OnInit, signal } from '@angular/core';
import { RouterLink } from '@angular/router';
import { StoreView } from '../core/api.types';
import { ApiError } from '../core/api-error';
import { Session } from '../core/session';
import { StoreState } from '../core/store-state';
import { StoresApi } from '../core/stores-api';
import { age, Clock } from '../core/time';
import { StatusBadge } from '../shared/status-badge';
import { engineLabel, statusOf, STEPS } from '../shared/steps';
import { CreateStoreForm } from './create-store.form';
import { DeleteDialog } from './delete-dialog';

/** The user's stores (every store, with its owner, for admins), live; launch and delete from here. */
@Component({
  selector: 'urumi-stores',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [DatePipe, RouterLink, StatusBadge, CreateStoreForm, DeleteDialog],
  template: `
    <div class="page-head">
      <h1>Stores</h1>
    </div>
    <section class="card">
      <urumi-create-store (created)="onCreated($event)" />
    </section>

    <section class="card" aria-labelledby="list-title">
      <div class="list-head">
        <h2 id="list-title">{{ session.isAdmin() ? 'All stores' : 'Your stores' }}</h2>
        <div class="filter">
          <label for="status-filter">Status</label>
          <select id="status-filter" (change)="filter.set(filterSelect.value)" #filterSelect>
            <option value="">All</option>
            @for (step of steps; track step.slug) {
              <option [value]="step.slug">{{ step.label }}</option>
            }
          </select>
        </div>
      </div>
      @if (actionError(); as message) {
        <p class="error" role="alert">{{ message }}</p>
      }
      @switch (view()) {
        @case ('loading') {
          <p class="state" aria-busy="true" role="status">Loading stores…</p>
        }
        @case ('error') {
          <div class="state" role="alert">
            <p class="error">Could not load your stores: {{ state.loadError() }}</p>
            <button type="button" class="button" (click)="state.load()">Try again</button>
          </div>
        }
        @case ('empty') {
          <p class="state" role="status">No stores yet. Launch your first one above.</p>
        }
        @case ('filtered-empty') {
          <p class="state" role="status">No stores are {{ filterLabel() }}.</p>
        }
        @default {
          <table class="stores" aria-labelledby="list-title">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Engine</th>
                <th scope="col">Status</th>
                <th scope="col">URL</th>
                <th scope="col">Created</th>
                <th scope="col">Age</th>
                @if (session.isAdmin()) {
                  <th scope="col">Owner</th>
                }
                <th scope="col"><span class="visually-hidden">Actions</span></th>
              </tr>
            </thead>
            <tbody>
              @for (store of visible(); track store.id) {
                <tr [attr.data-store]="store.name">
                  <th scope="row" data-label="Name">
                    <a [routerLink]="['/stores', store.id]">{{ store.name }}</a>
                  </th>
                  <td data-label="Engine">{{ engineLabel(store.engine) }}</td>
                  <td data-label="Status">
                    @let shown = statusOf(store);
                    <urumi-status-badge [step]="shown.state" [label]="shown.label" />
                    @if (shown.reason) {
                      <span class="reason">{{ shown.reason }}</span>
                    }
                  </td>
                  <td data-label="URL">
                    @if (store.step === 'ready') {
                      <a [href]="store.url" target="_blank" rel="noopener noreferrer">{{ store.url }}</a>
                    } @else {
                      <span class="muted">{{ store.url }}</span>
                    }
                  </td>
                  <td data-label="Created">
                    <time [attr.datetime]="store.createdAt">{{ store.createdAt | date: 'medium' }}</time>
                  </td>
                  <td data-label="Age">{{ ageOf(store.createdAt) }}</td>
                  @if (session.isAdmin()) {
                    <td data-label="Owner">{{ store.owner }}</td>
                  }
                  <td data-label="Actions">
                    <button
                      type="button"
                      class="button button--small button--danger-quiet"
                      [disabled]="store.step === 'deleting'"
                      [attr.aria-label]="'Delete ' + store.name"
                      (click)="dialog.open(store)"
                    >
                      Delete
                    </button>
                  </td>
                </tr>
              }
            </tbody>
          </table>
        }
      }
    </section>
    <urumi-delete-dialog #dialog (confirmed)="delete($event)" />
  `,
})
export class StoresPage implements OnInit {
  protected readonly state = inject(StoreState);
  protected readonly session = inject(Session);
  private readonly api = inject(StoresApi);
  private readonly clock = inject(Clock);

  protected readonly steps = STEPS;
  protected readonly engineLabel = engineLabel;
  protected readonly statusOf = statusOf;
  protected readonly filter = signal('');
  protected readonly actionError = signal<string | null>(null);

  protected readonly visible = computed(() => {
    const step = this.filter();
    return step ? this.state.stores().filter((s) => s.step === step) : this.state.stores();
  });
  protected readonly filterLabel = computed(() => STEPS.find((s) => s.slug === this.filter())?.label ?? '');
  protected readonly view = computed(() => {
    const load = this.state.loadState();
    if (load === 'idle' || load === 'loading') return 'loading';
    if (load === 'error') return 'error';
    if (this.state.stores().length === 0) return 'empty';
    return this.visible().length === 0 ? 'filtered-empty' : 'list';
  });

  ngOnInit(): void {
    void this.state.load();
  }

  protected ageOf(createdAt: string): string {
    return age(createdAt, this.clock.now());
  }

  protected onCreated(store: StoreView): void {
    this.state.upsert(store);
  }

  protected async delete(store: StoreView): Promise<void> {
    this.actionError.set(null);
    try {
      this.state.upsert(await this.api.delete(store.id, crypto.randomUUID()));
    } catch (error) {
      this.actionError.set(`Could not delete ${store.name}: ${ApiError.from(error).message}`);
    }
  }
}
