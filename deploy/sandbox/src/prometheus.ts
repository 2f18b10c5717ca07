import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadAllYaml } from '@kubernetes/client-node';
import { Daemons } from './daemon';
import { repoRoot } from './paths';
import { freePort } from './ports';
import { get, waitUntil } from './probe';
import type { Sandbox } from './sandbox';
import { scratchRoot } from './testing/test-sandbox';
import { binaryOf, ensureToolchain } from './toolchain';

/** One scrape target: a job (the service), the replica it is, and where its /metrics answers. */
export interface ScrapeTarget {
  readonly job: string;
  readonly instance: string;
  /** `http://host:port/metrics` */
  readonly url: string;
}

export interface PrometheusOptions {
  readonly targets: readonly ScrapeTarget[];
  /** Rule files to load (alerting and recording rules), evaluated every scrape interval. */
  readonly ruleFiles?: readonly string[];
  /** Scrape and rule-evaluation interval (default 1 s: a test needs no 15 s resolution). */
  readonly intervalSeconds?: number;
  /** Labels on every target, as a cluster's scrape adds them (e.g. the namespace the chart's rules select). */
  readonly labels?: Readonly<Record<string, string>>;
  /**
   * Where it keeps its configuration and TSDB, kept by `stop` (a Prometheus a killed run left there is stopped first);
   * default: a scratch folder that `stop` deletes, inside the test sandbox in a test run.
   */
  readonly dir?: string;
}

/** One series of an instant query's answer. */
export interface Sample {
  readonly metric: Readonly<Record<string, string>>;
  readonly value: number;
}

/**
 * A real Prometheus on loopback, scraping the targets a test names: built from its Go module like the rest of the
 * sandbox, its TSDB in a scratch folder that `stop` deletes (and the test sandbox's teardown, should a test die).
 */
export class Prometheus {
  private constructor(
    private readonly dir: string,
    private readonly keep: boolean,
    private readonly daemons: Daemons,
    readonly url: string,
  ) {}

  static async start(options: PrometheusOptions): Promise<Prometheus> {
    const binary = binaryOf(await ensureToolchain(), 'prometheus');
    const dir = options.dir ?? (await mkdtemp(join(scratchRoot(), 'urumi-prometheus-')));
    await mkdir(dir, { recursive: true });
    const port = await freePort();
    const config = join(dir, 'prometheus.yml');
    await writeFile(config, prometheusConfig(options));
    const daemons = new Daemons(dir);
    await daemons.stop('prometheus');
    const prometheus = new Prometheus(dir, options.dir !== undefined, daemons, `http://127.0.0.1:${port}`);
    await daemons.start({
      name: 'prometheus',
      command: binary,
      args: [
        `--config.file=${config}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
    });
    try {
      await waitUntil(
        'prometheus did not become ready',
        async () => (await get(`${prometheus.url}/-/ready`).catch(() => undefined))?.status === 200,
        60_000,
        () => (daemons.pidOf('prometheus') === undefined ? 'it exited' : undefined),
      );
    } catch (error) {
      const tail = await daemons.logTail('prometheus');
      await prometheus.stop();
      throw new Error(`${(error as Error).message}; its log ends with:\n${tail}`);
    }
    return prometheus;
  }

  /** An instant query's series (a vector); throws with Prometheus's own error for a bad expression. */
  async query(expr: string): Promise<Sample[]> {
    const response = await fetch(`${this.url}/api/v1/query?${new URLSearchParams({ query: expr })}`);
    const body = (await response.json()) as {
      status: string;
      error?: string;
      data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
    };
    if (body.status !== 'success' || !body.data)
      throw new Error(`query ${expr} failed: ${body.error ?? response.status}`);
    if (body.data.resultType !== 'vector') throw new Error(`query ${expr} answered a ${body.data.resultType}`);
    return body.data.result.map(({ metric, value }) => ({ metric, value: Number(value[1]) }));
  }

  /** The single value an aggregating query answers, or undefined when it answers no series. */
  async value(expr: string): Promise<number | undefined> {
    const [first, ...rest] = await this.query(expr);
    if (rest.length) throw new Error(`query ${expr} answered ${rest.length + 1} series, not one`);
    return first?.value;
  }

  /** Every target's scrape health, by job and instance. */
  async targetHealth(): Promise<Record<string, string>> {
    const response = await fetch(`${this.url}/api/v1/targets?state=active`);
    const body = (await response.json()) as {
      data: { activeTargets: { labels: Record<string, string>; health: string; lastError: string }[] };
    };
    return Object.fromEntries(
      body.data.activeTargets.map((t) => [`${t.labels['job']}/${t.labels['instance']}`, t.lastError || t.health]),
    );
  }

  /** The alerts firing or pending now, by name. */
  async alerts(): Promise<{ name: string; state: string; labels: Record<string, string> }[]> {
    const response = await fetch(`${this.url}/api/v1/alerts`);
    const body = (await response.json()) as {
      data: { alerts: { labels: Record<string, string>; state: string }[] };
    };
    return body.data.alerts.map((a) => ({ name: a.labels['alertname'] ?? '', state: a.state, labels: a.labels }));
  }

  async stop(): Promise<void> {
    await this.daemons.stop('prometheus');
    if (!this.keep) await rm(this.dir, { recursive: true, force: true });
  }
}

/** prometheus.yml: one static job per service, each replica an instance. */
export function prometheusConfig({
  targets,
  ruleFiles = [],
  intervalSeconds = 1,
  labels = {},
}: PrometheusOptions): string {
  const jobs = new Map<string, ScrapeTarget[]>();
  for (const target of targets) jobs.set(target.job, [...(jobs.get(target.job) ?? []), target]);
  const interval = `${intervalSeconds}s`;
  const config = {
    global: { scrape_interval: interval, evaluation_interval: interval, scrape_timeout: interval },
    rule_files: ruleFiles,
    scrape_configs: [...jobs].map(([job, replicas]) => ({
      job_name: job,
      static_configs: replicas.map((target) => {
        const url = new URL(target.url);
        return {
          targets: [url.host],
          labels: { ...labels, instance: target.instance, __metrics_path__: url.pathname },
        };
      }),
    })),
  };
  // JSON is YAML.
  return `${JSON.stringify(config, null, 2)}\n`;
}

/**
 * The platform chart's alert rules as Prometheus loads them: the PrometheusRule `helm template` renders from the
 * chart's default values in `namespace`, its groups written to `file`.
 */
export async function writeChartAlertRules(sandbox: Sandbox, namespace: string, file: string): Promise<string> {
  const rendered = await sandbox.helm([
    'template',
    'urumi',
    join(repoRoot, 'charts/platform'),
    '-n',
    namespace,
    '--api-versions',
    'monitoring.coreos.com/v1/PodMonitor',
  ]);
  const rule = (loadAllYaml(rendered) as ({ kind?: string; spec?: unknown } | null)[]).find(
    (object) => object?.kind === 'PrometheusRule',
  );
  if (!rule?.spec) throw new Error('the platform chart rendered no PrometheusRule');
  await writeFile(file, `${JSON.stringify(rule.spec, null, 2)}\n`);
  return file;
}
