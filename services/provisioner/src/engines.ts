import { loadYaml } from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** What an engine chart declares in its Chart.yaml (charts/README.md, "The engine chart contract"). */
export interface EngineChart {
  readonly engine: string;
  readonly path: string;
  readonly version: string;
  readonly podSecurity: 'restricted' | 'baseline';
  readonly credentials: readonly string[];
}

/** The engines a store can run: adding one is a chart `charts/store-<engine>` plus its name here. */
export const ENGINES = ['woocommerce', 'medusa'] as const;

export function readEngineChart(chartsDir: string, engine: string): EngineChart {
  const path = join(chartsDir, `store-${engine}`);
  const file = join(path, 'Chart.yaml');
  const chart = loadYaml<{ version?: string; annotations?: Record<string, string> }>(readFileSync(file, 'utf8'));
  const podSecurity = chart.annotations?.['urumi.dev/pod-security'];
  const credentials = chart.annotations?.['urumi.dev/credentials'];
  if (podSecurity !== 'restricted' && podSecurity !== 'baseline') {
    throw new Error(`${file}: the annotation urumi.dev/pod-security must be restricted or baseline`);
  }
  if (!credentials) throw new Error(`${file}: the annotation urumi.dev/credentials is missing`);
  return {
    engine,
    path,
    version: chart.version ?? '0.0.0',
    podSecurity,
    credentials: credentials.split(',').map((key) => key.trim()),
  };
}

/** Every engine's chart, read once at start-up so a broken chart stops the service rather than a store. */
export function readEngineCharts(chartsDir: string): ReadonlyMap<string, EngineChart> {
  return new Map(ENGINES.map((engine) => [engine, readEngineChart(chartsDir, engine)]));
}
