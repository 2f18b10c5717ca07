import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { testSandbox, writeChartAlertRules } from '@urumi/sandbox';
import { Manifest, parseManifests } from './engine-chart';

jest.setTimeout(120_000);

const repoRoot = resolve(__dirname, '../..');
const chartDir = join(repoRoot, 'charts/platform');
const run = promisify(execFile);

interface Rule {
  readonly alert: string;
  readonly expr: string;
  readonly annotations: Record<string, string>;
}

/**
 * The chart's alerts as Prometheus loads them: rendered by helm from the chart's own values, checked by promtool, and
 * unit-tested by promtool against series that must make each fire and series that must not (alerts.test.yaml).
 */
describe('the platform chart’s alert rules', () => {
  const sandbox = testSandbox();
  let dir: string;
  let rules: Rule[];
  let promtool: string;

  const render = async (...extra: string[]) =>
    parseManifests(await sandbox.helm(['template', 'urumi', chartDir, '-n', 'urumi-system', ...extra]));
  const promtoolIn = async (...args: string[]) => {
    try {
      return (await run(promtool, args, { cwd: dir })).stdout;
    } catch (error) {
      const { stdout, stderr } = error as { stdout?: string; stderr?: string };
      throw new Error(`promtool ${args.join(' ')} failed:\n${stdout ?? ''}${stderr ?? ''}`);
    }
  };

  beforeAll(async () => {
    promtool = await sandbox.binary('promtool');
    dir = await mkdtemp(join(sandbox.stateDir, 'alerts-'));
    const file = await writeChartAlertRules(sandbox, 'urumi-system', join(dir, 'urumi-alerts.yaml'));
    await copyFile(join(__dirname, 'alerts.test.yaml'), join(dir, 'alerts.test.yaml'));
    const spec = JSON.parse(await readFile(file, 'utf8')) as { groups: { rules: Rule[] }[] };
    rules = spec.groups.flatMap((group) => group.rules);
  });

  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('are valid rules to promtool', async () => {
    expect(await promtoolIn('check', 'rules', 'urumi-alerts.yaml')).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('fire on the series that must fire them, and on no other (promtool test rules)', async () => {
    expect(await promtoolIn('test', 'rules', 'alerts.test.yaml')).toMatch(/SUCCESS/);
  });

  it('each have a unit test, and a runbook in deploy/README.md under their name', async () => {
    const tests = await readFile(join(__dirname, 'alerts.test.yaml'), 'utf8');
    const runbooks = await readFile(join(repoRoot, 'deploy/README.md'), 'utf8');
    const alerts = [...new Set(rules.map((r) => r.alert))];
    expect(alerts).toEqual([
      'UrumiStoreStuckProvisioning',
      'UrumiStoreFailureRatioHigh',
      'UrumiDeadLetters',
      'UrumiConsumerLagGrowing',
      'UrumiNoLeader',
      'UrumiServiceDown',
    ]);
    for (const alert of alerts) {
      expect(tests).toContain(`alertname: ${alert}`);
      expect(runbooks).toContain(`#### ${alert}\n`);
      for (const rule of rules.filter((r) => r.alert === alert)) {
        expect(rule.annotations['runbook_url']).toMatch(new RegExp(`deploy/README\\.md#${alert.toLowerCase()}$`));
      }
    }
  });

  it('ship with a PodMonitor only where the Prometheus Operator is, and with the dashboard everywhere', async () => {
    const monitoring = (manifests: Manifest[]) =>
      manifests
        .filter(
          (m) => ['PodMonitor', 'PrometheusRule'].includes(m.kind ?? '') || m.metadata?.name === 'urumi-dashboard',
        )
        .map((m) => `${m.kind}/${m.metadata?.name}`)
        .sort();
    expect(monitoring(await render())).toEqual(['ConfigMap/urumi-dashboard']);
    expect(monitoring(await render('--set', 'monitoring.prometheusOperator=enabled'))).toEqual([
      'ConfigMap/urumi-dashboard',
      'PodMonitor/urumi',
      'PrometheusRule/urumi',
    ]);
    const dashboard = (await render()).find((m) => m.metadata?.name === 'urumi-dashboard') as Manifest & {
      data: Record<string, string>;
    };
    expect(dashboard.metadata?.labels?.['grafana_dashboard']).toBe('1');
    expect(JSON.parse(dashboard.data['urumi-platform.json']!)).toMatchObject({ uid: 'urumi-platform' });
  });
});
