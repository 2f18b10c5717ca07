import { Counter, Registry } from 'prom-client';

/** Quota's decisions and freed slots, for Prometheus; counts nothing without a registry (a module under test). */
export class QuotaMetrics {
  private readonly decisions?: Counter;
  private readonly freed?: Counter;

  constructor(registry?: Registry) {
    if (!registry) return;
    const registers = [registry];
    this.decisions = new Counter({
      name: 'urumi_quota_decisions_total',
      help: 'Store creations decided, by outcome (approved, rejected, withdrawn) and reason of a rejection; a redelivered command counts once',
      labelNames: ['outcome', 'reason'],
      registers,
    });
    this.freed = new Counter({
      name: 'urumi_quota_slots_freed_total',
      help: 'Quota slots given back as their store was deleted (a failed store keeps its slot until then); a repeated report counts once',
      registers,
    });
  }

  decided(outcome: string, reason = ''): void {
    this.decisions?.inc({ outcome, reason });
  }

  slotFreed(): void {
    this.freed?.inc();
  }
}
