import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditCounts, CostCounters, perStore, sumSeries } from './cost';

const METRICS = `# HELP apiserver_request_total Counter of apiserver requests
apiserver_request_total{code="201",component="apiserver",group="",resource="namespaces",scope="resource",subresource="",verb="POST",version="v1"} 4
apiserver_request_total{code="409",component="apiserver",group="",resource="namespaces",scope="resource",subresource="",verb="POST",version="v1"} 2
apiserver_request_total{code="200",component="apiserver",group="",resource="pods",scope="resource",subresource="status",verb="PATCH",version="v1"} 7
apiserver_request_total{code="200",component="apiserver",group="",resource="",scope="",subresource="",verb="GET",version=""} 3
`;

const event = (username: string, verb: string, resource?: string, subresource?: string) =>
  `${JSON.stringify({ kind: 'Event', verb, user: { username }, objectRef: resource ? { resource, subresource } : undefined })}\n`;

describe('sumSeries', () => {
  it('sums a counter over the series a key names, leaving out those it does not', () => {
    const key = (l: Record<string, string>) => (l['resource'] ? `${l['verb']} ${l['resource']}` : undefined);
    expect(sumSeries(METRICS, 'apiserver_request_total', key)).toEqual({ 'POST namespaces': 6, 'PATCH pods': 7 });
  });
});

describe('AuditCounts', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'audit-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('counts by client, verb and resource, reading on from where it stopped, a half-written line included', () => {
    const file = join(dir, 'audit.log');
    expect(new AuditCounts(file).read()).toEqual({});
    writeFileSync(file, event('system:serviceaccount:urumi-system:urumi-provisioner', 'patch', 'networkpolicies'));
    const audit = new AuditCounts(file);
    expect(audit.read()).toEqual({ 'urumi-provisioner: patch networkpolicies': 1 });

    const line = event('system:serviceaccount:kube-system:namespace-controller', 'delete', 'pods');
    appendFileSync(file, event('system:kube-scheduler', 'create', 'pods', 'binding') + line.slice(0, 20));
    expect(audit.read()).toEqual({
      'urumi-provisioner: patch networkpolicies': 1,
      'kube-scheduler: create pods/binding': 1,
    });
    appendFileSync(file, line.slice(20) + event('urumi-admin', 'get'));
    expect(audit.read()).toEqual({
      'urumi-provisioner: patch networkpolicies': 1,
      'kube-scheduler: create pods/binding': 1,
      'controllers: delete pods': 1,
    });
  });
});

describe('perStore', () => {
  const counters = (requests: Record<string, number>, cpu: number): CostCounters => ({
    apiRequests: requests,
    clientRequests: Object.fromEntries(Object.entries(requests).map(([k, v]) => [`urumi-provisioner: ${k}`, v])),
    watchEvents: {},
    streamMessages: { STORES: requests['POST stores'] ?? 0 },
    helmCommands: cpu,
    cpuSeconds: { provisioner: cpu },
  });

  it('gives what moved per store, with totals, by client too', () => {
    const cost = perStore(counters({ 'POST stores': 10 }, 1), counters({ 'POST stores': 30, 'GET pods': 5 }, 3), 10);
    expect(cost).toEqual({
      apiRequests: { total: 2.5, 'GET pods': 0.5, 'POST stores': 2 },
      requestsByClient: { 'urumi-provisioner': { total: 2.5, 'GET pods': 0.5, 'POST stores': 2 } },
      watchEvents: { total: 0 },
      streamMessages: { total: 2, STORES: 2 },
      helmCommands: 0.2,
      cpuSeconds: { total: 0.2, provisioner: 0.2 },
    });
  });
});
