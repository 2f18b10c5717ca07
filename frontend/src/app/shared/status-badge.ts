import { ChangeDetectionStrategy, Component, computed, input } from '@angular/core';
import { toneOf } from './steps';

/** A store's status as a coloured pill; the colour repeats what the text says, never replaces it. */
@Component({
  selector: 'urumi-status-badge',
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `<span class="badge" [class]="'badge badge--' + tone()" [attr.data-step]="step()">
    @if (tone() === 'progress') {
      <span class="badge__spinner" aria-hidden="true"></span>
    }
    {{ label() }}
  </span>`,
})
export class StatusBadge {
  readonly step = input.required<string>();
  readonly label = input.required<string>();
  protected readonly tone = computed(() => toneOf(this.step()));
}
