import { DatePipe } from '@angular/common';
import { ChangeDetectionStrategy, Component, computed, DestroyRef, inject, OnInit, signal } from '@angular/core';
import type { PlatformView } from '../core/api.types';
import { ApiError } from '../core/api-error';
import { StoresApi } from '../core/stores-api';

/** How often the page asks the gateway again while it is open (the gateway answers from its read model). */
const REFRESH_MS = 10_000;
/** `namespace-ready` → `Namespace ready`, as the API's step labels read. */
const labelOf = (step: string) => step.charAt(0).toUpperCase() + step.slice(1).replace(/-/g, ' ');
const STAGE_LABELS: Record<string, string> = {
  quota: 'Waiting for quota',
  provisioner: 'Provisioning',
  cleanup: 'Being torn down',
};

/** Admins: the fleet by step, what each stage has yet to do, recent failures with their reasons, the event bus. */
@Component({
  selector: 'urumi-platform',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [DatePipe],
  template: `
    <div class="page-head"><h1>Platform</h1></div>
    @if (error(); as message) {
      <div class="card state" role="alert">
        <p class="error">Could not load the platform's figures: {{ message }}</p>
        <button type="button" class="button" (click)="load()">Try again</button>
      </div>
    } @else if (view(); as v) {
      <div class="grid">
        <section class="card" aria-labelledby="fleet-title">
          <h2 id="fleet-title">Stores by step</h2>
          <dl class="figures">
            @for (entry of counts(); track entry.step) {
              <div [attr.data-step]="entry.step">
                <dt>{{ entry.label }}</dt>
                <dd>{{ entry.count }}</dd>
              </div>
            }
            <div data-step="degraded">
              <dt>Ready but degraded</dt>
              <dd>{{ v.degraded }}</dd>
            </div>
          </dl>
        </section>
        <section class="card" aria-labelledby="pipeline-title">
          <h2 id="pipeline-title">Work in progress</h2>
          <dl class="figures">
            @for (stage of v.stages; track stage.stage) {
              <div [attr.data-stage]="stage.stage">
                <dt>{{ stageLabel(stage.stage) }}</dt>
                <dd>
                  {{ stage.stores }}
                  @if (stage.stores) {
                    <span class="muted">(oldest {{ stage.oldestSeconds }} s)</span>
                  }
                </dd>
              </div>
            }
          </dl>
          <h3>Event bus</h3>
          @if (v.consumers === null) {
            <p class="notice" role="status">NATS did not answer in time; its figures are unknown.</p>
          } @else {
            <dl class="figures">
              @for (c of v.consumers; track c.consumer) {
                <div [attr.data-consumer]="c.consumer">
                  <dt>Console's feed ({{ c.consumer }})</dt>
                  <dd>{{ c.pending }} pending, {{ c.ackPending }} unacknowledged</dd>
                </div>
              }
              <div data-figure="dead-letters">
                <dt>Dead letters</dt>
                <dd>{{ v.deadLetters }}</dd>
              </div>
            </dl>
          }
          <p class="help">The other services' consumers: the Grafana dashboard (deploy/README.md, "Monitoring").</p>
        </section>
      </div>
      <section class="card" aria-labelledby="failures-title">
        <h2 id="failures-title">Recent failures</h2>
        @if (v.recentFailures.length === 0) {
          <p class="state" role="status">No store has failed or been refused.</p>
        } @else {
          <table class="failures" aria-labelledby="failures-title">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Store</th>
                <th scope="col">Owner</th>
                <th scope="col">Step</th>
                <th scope="col">Reason</th>
              </tr>
            </thead>
            <tbody>
              @for (failure of v.recentFailures; track failure.id) {
                <tr [attr.data-store]="failure.name">
                  <td data-label="When">
                    <time [attr.datetime]="failure.at">{{ failure.at | date: 'medium' }}</time>
                  </td>
                  <td data-label="Store">
                    {{ failure.name }} <span class="muted">({{ failure.engine }})</span>
                  </td>
                  <td data-label="Owner">{{ failure.owner }}</td>
                  <td data-label="Step">{{ failure.step === 'failed' ? 'Failed' : 'Refused' }}</td>
                  <td data-label="Reason">
                    <strong>{{ failure.reason }}</strong>
                    <span class="reason">{{ failure.message }}</span>
                  </td>
                </tr>
              }
            </tbody>
          </table>
        }
      </section>
    } @else {
      <p class="state" role="status" aria-busy="true">Loading the platform's figures…</p>
    }
  `,
})
export class PlatformPage implements OnInit {
  private readonly api = inject(StoresApi);
  private readonly destroyRef = inject(DestroyRef);

  protected readonly view = signal<PlatformView | null>(null);
  protected readonly error = signal<string | null>(null);
  protected readonly counts = computed(() =>
    Object.entries(this.view()?.stores ?? {}).map(([step, count]) => ({ step, label: labelOf(step), count })),
  );

  ngOnInit(): void {
    void this.load();
    const timer = setInterval(() => void this.load(), REFRESH_MS);
    this.destroyRef.onDestroy(() => clearInterval(timer));
  }

  protected stageLabel(stage: string): string {
    return STAGE_LABELS[stage] ?? stage;
  }

  protected async load(): Promise<void> {
    try {
      this.view.set(await this.api.platform());
      this.error.set(null);
    } catch (error) {
      this.error.set(ApiError.from(error).message);
    }
  }
}
