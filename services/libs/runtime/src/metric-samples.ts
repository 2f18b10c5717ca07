import type { MetricValue, Registry } from 'prom-client';

/** One sample as Prometheus would scrape it: its labels and value. */
export interface MetricSample {
  readonly labels: Readonly<Record<string, string | number>>;
  readonly value: number;
}

/**
 * The samples of one series name as the registry exposes it: a counter's `x_total`, a histogram's `x_count`, `x_sum`
 * or `x_bucket`, a gauge's own name. For tests and for figures a process reports about itself.
 */
export async function metricSamples(registry: Registry, series: string): Promise<MetricSample[]> {
  const samples: MetricSample[] = [];
  for (const metric of await registry.getMetricsAsJSON()) {
    // A histogram's samples name their series (`x_bucket`, `x_sum`, `x_count`); other metrics' are the metric's name.
    for (const value of metric.values as (MetricValue<string> & { metricName?: string })[]) {
      if ((value.metricName ?? metric.name) !== series) continue;
      samples.push({ labels: value.labels as Record<string, string | number>, value: value.value });
    }
  }
  return samples;
}

/** The samples of a series keyed by one label's value. */
export async function metricValuesBy(
  registry: Registry,
  series: string,
  label: string,
): Promise<Record<string, number>> {
  return Object.fromEntries((await metricSamples(registry, series)).map((s) => [String(s.labels[label]), s.value]));
}
