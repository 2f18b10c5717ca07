import { TestBed } from '@angular/core/testing';
import { StatusBadge } from './status-badge';

describe(StatusBadge.name, () => {
  function render(step: string, label: string): HTMLElement {
    const fixture = TestBed.createComponent(StatusBadge);
    fixture.componentRef.setInput('step', step);
    fixture.componentRef.setInput('label', label);
    fixture.detectChanges();
    return fixture.nativeElement.querySelector('.badge');
  }

  it.each([
    ['queued', 'Queued', 'badge--pending'],
    ['approved', 'Approved', 'badge--progress'],
    ['workload-installed', 'Workload installed', 'badge--progress'],
    ['ready', 'Ready', 'badge--success'],
    ['rejected', 'Rejected', 'badge--danger'],
    ['failed', 'Failed', 'badge--danger'],
    ['deleting', 'Deleting', 'badge--warning'],
  ])('shows %s as "%s" in the %s colour', (step, label, tone) => {
    const sut = render(step, label);

    expect(sut.textContent?.trim()).toBe(label);
    expect(sut.classList).toContain(tone);
    expect(sut.dataset['step']).toBe(step);
  });

  it('shows a step it does not know yet by its label, in the neutral colour', () => {
    const sut = render('migrating', 'Migrating');

    expect(sut.textContent?.trim()).toBe('Migrating');
    expect(sut.classList).toContain('badge--pending');
  });

  it('marks work in progress with a spinner that screen readers skip', () => {
    const spinner = render('approved', 'Approved').querySelector('.badge__spinner');

    expect(spinner?.getAttribute('aria-hidden')).toBe('true');
    expect(render('ready', 'Ready').querySelector('.badge__spinner')).toBeNull();
  });
});
