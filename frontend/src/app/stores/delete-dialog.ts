import { ChangeDetectionStrategy, Component, ElementRef, output, signal, viewChild } from '@angular/core';
import { StoreView } from '../core/api.types';

/** A modal confirmation that names the store and what deleting it removes. */
@Component({
  selector: 'urumi-delete-dialog',
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <dialog #dialog class="dialog" aria-labelledby="delete-title" aria-describedby="delete-text" (close)="closed()">
      <h2 id="delete-title">Delete {{ store()?.name }}?</h2>
      <p id="delete-text">
        This removes the store <strong>{{ store()?.name }}</strong> with its namespace
        <code>{{ store()?.namespace }}</code>, its data, its secrets and its URL. It cannot be undone.
      </p>
      <div class="dialog__actions">
        <button type="button" class="button button--quiet" autofocus (click)="dialog.close()">Cancel</button>
        <button type="button" class="button button--danger" (click)="confirm()">Delete {{ store()?.name }}</button>
      </div>
    </dialog>
  `,
})
export class DeleteDialog {
  readonly confirmed = output<StoreView>();
  protected readonly store = signal<StoreView | null>(null);
  private readonly dialog = viewChild.required<ElementRef<HTMLDialogElement>>('dialog');

  open(store: StoreView): void {
    this.store.set(store);
    this.dialog().nativeElement.showModal();
  }

  protected confirm(): void {
    const store = this.store();
    this.dialog().nativeElement.close();
    if (store) this.confirmed.emit(store);
  }

  protected closed(): void {
    this.store.set(null);
  }
}
