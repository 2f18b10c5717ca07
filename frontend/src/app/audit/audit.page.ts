import { DatePipe } from '@angular/common';
import { ChangeDetectionStrategy, Component, inject, OnInit, signal } from '@angular/core';
import { AuditItem } from '../core/api.types';
import { ApiError } from '../core/api-error';
import { StoresApi } from '../core/stores-api';

const PAGE_SIZE = 25;

/** Admins: who did what, when and from where, newest first, a page at a time. */
@Component({
  selector: 'urumi-audit',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [DatePipe],
  template: `
    <div class="page-head"><h1>Audit trail</h1></div>
    <section class="card" aria-labelledby="audit-title">
      <h2 id="audit-title" class="visually-hidden">Entries</h2>
      @if (error(); as message) {
        <div class="state" role="alert">
          <p class="error">Could not load the audit trail: {{ message }}</p>
          <button type="button" class="button" (click)="load(cursor())">Try again</button>
        </div>
      } @else if (items() === null) {
        <p class="state" role="status" aria-busy="true">Loading the audit trail…</p>
      } @else if (items()!.length === 0) {
        <p class="state" role="status">Nothing recorded yet.</p>
      } @else {
        <table class="audit" aria-labelledby="audit-title">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Who</th>
              <th scope="col">What</th>
              <th scope="col">Store</th>
              <th scope="col">Result</th>
              <th scope="col">From</th>
              <th scope="col">Request</th>
            </tr>
          </thead>
          <tbody>
            @for (item of items(); track item.sequence) {
              <tr>
                <td data-label="When">
                  <time [attr.datetime]="item.at">{{ item.at | date: 'medium' }}</time>
                </td>
                <td data-label="Who">
                  {{ item.user }} <span class="muted">({{ item.role }})</span>
                </td>
                <td data-label="What">{{ item.action }}</td>
                <td data-label="Store">{{ item.storeName || '—' }}</td>
                <td data-label="Result">{{ item.statusCode }}</td>
                <td data-label="From">{{ item.sourceIp }}</td>
                <td data-label="Request">
                  <code>{{ item.requestId }}</code>
                </td>
              </tr>
            }
          </tbody>
        </table>
      }
      <nav class="pager" aria-label="Audit pages">
        <button type="button" class="button button--quiet" [disabled]="previous().length === 0" (click)="newer()">
          ← Newer
        </button>
        <span>Page {{ previous().length + 1 }}</span>
        <button type="button" class="button button--quiet" [disabled]="next() === undefined" (click)="older()">
          Older →
        </button>
      </nav>
    </section>
  `,
})
export class AuditPage implements OnInit {
  private readonly api = inject(StoresApi);

  protected readonly items = signal<readonly AuditItem[] | null>(null);
  protected readonly error = signal<string | null>(null);
  /** The `before` of the page shown (undefined: the newest page) and of the pages before it. */
  protected readonly cursor = signal<number | undefined>(undefined);
  protected readonly previous = signal<readonly (number | undefined)[]>([]);
  protected readonly next = signal<number | undefined>(undefined);

  ngOnInit(): void {
    void this.load(undefined);
  }

  protected async older(): Promise<void> {
    const next = this.next();
    if (next === undefined) return;
    this.previous.update((pages) => [...pages, this.cursor()]);
    await this.load(next);
  }

  protected async newer(): Promise<void> {
    const pages = this.previous();
    if (!pages.length) return;
    this.previous.set(pages.slice(0, -1));
    await this.load(pages[pages.length - 1]);
  }

  protected async load(before: number | undefined): Promise<void> {
    this.cursor.set(before);
    this.items.set(null);
    this.error.set(null);
    try {
      const page = await this.api.audit(PAGE_SIZE, before);
      this.items.set(page.items);
      this.next.set(page.next);
    } catch (error) {
      this.error.set(ApiError.from(error).message);
    }
  }
}
