// config/prometheus/grafana-dashboard.json: its shape as Grafana imports it, and every query run
// by a real Prometheus against series with the names and labels the controller, the webhook and
// Istio's sidecars export: the controller's and the webhook's own metric objects, and the traffic
// simulator's istio_requests_total and istio_request_duration_milliseconds.
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorRateQuery, latencyP99Query, requestCountQuery, type WorkloadWindow } from '../../../src/analysis/queries.ts';
import { createControllerMetrics } from '../../../src/controller/metrics.ts';
import { createWebhookMetrics, withProcessMetrics } from '../../../src/observability/metrics.ts';
import { startPrometheus, type RunningPrometheus } from '../../harness/prometheus.ts';
import type { AppliedRoutes } from '../../harness/sidecar.ts';
import { TrafficSimulator } from '../../harness/traffic-simulator.ts';
import { EXAMPLE, alertRules, allPanels, concrete, dashboardQueries, loadDashboard, onPath, parseLabelValues, variableQuery } from './kit.ts';

const PROMETHEUS_DS = { type: 'prometheus', uid: '${datasource}' };

describe('the Grafana dashboard', () => {
  const dashboard = loadDashboard();
  const panels = allPanels(dashboard).filter((p) => p.type !== 'row');

  it('is a dashboard a current Grafana imports, with a stable uid', () => {
    expect(dashboard.uid).toBe('switchboard');
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(41);
    const ids = allPanels(dashboard).map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of allPanels(dashboard)) {
      expect(panel.gridPos.x + panel.gridPos.w, panel.title).toBeLessThanOrEqual(24);
    }
  });

  it('asks the Prometheus chosen in ${datasource}, and has namespace and rollout variables', () => {
    const variables = new Map(dashboard.templating.list.map((v) => [v.name, v]));
    expect(variables.get('datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' });
    for (const name of ['namespace', 'rollout', 'service']) {
      expect(variables.get(name), name).toMatchObject({ type: 'query', datasource: PROMETHEUS_DS });
    }
    expect(variableQuery(variables.get('namespace')!)).toBe('label_values(switchboard_rollout_info, namespace)');
    expect(variableQuery(variables.get('rollout')!)).toBe('label_values(switchboard_rollout_info{namespace="$namespace"}, name)');
    for (const panel of panels) {
      expect(panel.datasource, panel.title).toEqual(PROMETHEUS_DS);
      expect(panel.targets?.length, `${panel.title} has no query`).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) expect(target.datasource, `${panel.title} ${target.refId}`).toEqual(PROMETHEUS_DS);
    }
  });

  it('selects the canary and the stable workload by the names the controller gives them', () => {
    const queries = dashboardQueries(dashboard).map((q) => q.expr);
    expect(queries.some((q) => q.includes('destination_workload="${rollout}-canary"'))).toBe(true);
    expect(queries.some((q) => q.includes('destination_workload="${rollout}-stable"'))).toBe(true);
    // Every Istio selector names the rollout's namespace or its routed host: never another namespace's workload.
    for (const query of queries.filter((q) => q.includes('istio_'))) {
      for (const selector of query.match(/istio_[a-z_]+\{[^}]*\}/g) ?? []) {
        expect(selector, query).toMatch(/destination_workload_namespace="\$namespace"|destination_service="\$service"/);
      }
    }
  });
});

const prometheusInstalled = onPath('prometheus') !== undefined;

describe.skipIf(!prometheusInstalled)('the dashboard and the alerts against a Prometheus holding the series they read', () => {
  const logDir = mkdtempSync(join(tmpdir(), 'switchboard-dashboard-'));
  let prometheus: RunningPrometheus | undefined;
  let simulator: TrafficSimulator | undefined;
  let exporter: Server | undefined;
  let ticker: NodeJS.Timeout | undefined;

  beforeAll(async () => {
    const controller = createControllerMetrics();
    const webhook = createWebhookMetrics(withProcessMetrics(new Registry()));
    const { namespace, rollout } = EXAMPLE;
    controller.rollouts.setPhase(namespace, rollout, 'Progressing');
    controller.rollouts.setCanaryWeight(namespace, rollout, 20);
    controller.rollouts.countReconcileError(namespace, rollout, 'conflict');
    webhook.certificateExpiry.set(Math.floor(Date.now() / 1000) + 90 * 24 * 3600);
    webhook.certificateReloads.inc({ result: 'loaded' });
    // Everything moves, so that every rate() and histogram_quantile() has something to say.
    const tick = () => {
      controller.reconciles.inc({ result: 'success' });
      controller.reconcileDuration.observe(0.02);
      controller.actions.inc({ kind: 'wait' });
      controller.rollouts.countAnalysisRound(namespace, rollout, 'pass');
      controller.rollouts.countReconcileError(namespace, rollout, 'conflict');
      controller.dataPlaneSyncSeconds.observe({ level: 'synced' }, 0.15);
      controller.dataPlaneSyncSeconds.observe({ level: 'applied' }, 11.2);
      controller.dataPlaneSyncTimeouts.inc();
      controller.istiodRequests.inc({ result: 'ok' });
      webhook.requests.inc({ endpoint: 'inject', outcome: 'allowed' });
      webhook.requests.inc({ endpoint: 'validate', outcome: 'refused' });
      webhook.refusals.inc({ endpoint: 'validate', reason: 'ContainerRunsAsProxyUID' });
      webhook.duration.observe({ endpoint: 'inject' }, 0.0006);
      webhook.duration.observe({ endpoint: 'validate' }, 0.0004);
      webhook.injections.inc();
      webhook.skips.inc({ reason: 'pod-opt-out' });
    };
    tick();
    ticker = setInterval(tick, 200);
    const registry = Registry.merge([controller.registry, webhook.registry]);
    exporter = createServer((_req, res) => {
      void registry.metrics().then((body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body));
    });
    await new Promise<void>((resolve) => exporter!.listen(0, '127.0.0.1', resolve));
    const address = exporter.address();
    const exporterTarget = `127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

    // Callers reach payments through one sidecar that sends 20% to the canary, whose gRPC calls
    // fail 10% of the time (HTTP 200, grpc-status 14); stable's connections are reset now and then
    // (response code 0, seen by the callers' proxies only); 5% go to a subset without a ready pod
    // (503 UH, which no workload sees: destination_workload="unknown"). Each kind of failure the
    // analysis counts is there.
    const service = EXAMPLE.service;
    const cluster = (subset: string) => `outbound|80|${subset}|${service}`;
    const endpoints = (ip: string) => ({ known: true, endpoints: [{ address: `${ip}:8080`, healthy: true }] });
    const applied: AppliedRoutes = {
      host: service, port: 80,
      acked: { cds: { version: '1', nonce: '1' }, rds: { version: '1', nonce: '1' }, eds: { version: '1', nonce: '1' } },
      routes: [{
        name: 'default', match: { prefix: '/' },
        clusters: [{ name: cluster('stable'), weight: 75 }, { name: cluster('canary'), weight: 20 }, { name: cluster('preview'), weight: 5 }],
      }],
      clusters: { [cluster('stable')]: endpoints('10.0.0.1'), [cluster('canary')]: endpoints('10.0.0.2'), [cluster('preview')]: { known: true, endpoints: [] } },
    };
    simulator = new TrafficSimulator({
      namespace, host: EXAMPLE.host, routeBy: { sidecar: { applied: () => applied } },
      workloads: { stable: `${rollout}-stable`, canary: `${rollout}-canary` },
      requestsPerSecond: 100,
      behaviour: { stable: { errorRate: 0.02, latencyMs: 20, failure: 'reset' }, canary: { errorRate: 0.1, latencyMs: 40, failure: 'grpc' } },
    });
    const meshTarget = await simulator.start();
    prometheus = await startPrometheus({ targets: [exporterTarget, meshTarget], logDir });
  }, 30_000);

  afterAll(async () => {
    clearInterval(ticker);
    await prometheus?.stop();
    await simulator?.stop();
    await new Promise<void>((resolve) => (exporter ? exporter.close(() => resolve()) : resolve()));
    rmSync(logDir, { recursive: true, force: true });
  }, 15_000);

  interface QueryAnswer { status: number; error?: string; series: { metric: Record<string, string>; value: [number, string] }[] }

  async function query(expr: string, time?: number): Promise<QueryAnswer> {
    const params = new URLSearchParams({ query: expr, ...(time === undefined ? {} : { time: String(time) }) });
    const response = await fetch(`${prometheus!.url}/api/v1/query?${params}`);
    const body = (await response.json()) as { error?: string; data?: { resultType: string; result: QueryAnswer['series'] | [number, string] } };
    const result = body.data?.result ?? [];
    // A scalar (`min(...) - time()` is a vector, but say so if one ever is not) counts as one series.
    const series = body.data?.resultType === 'scalar' ? [{ metric: {}, value: result as [number, string] }] : (result as QueryAnswer['series']);
    return { status: response.status, ...(body.error ? { error: body.error } : {}), series };
  }

  it('parses every query of the dashboard and every alert expression', async () => {
    const expressions = [
      ...dashboardQueries().map((q) => ({ what: `panel "${q.panel}" ${q.refId}`, expr: concrete(q.expr) })),
      ...alertRules().map((a) => ({ what: `alert ${a.alert}`, expr: a.expr })),
    ];
    const refused: string[] = [];
    for (const { what, expr } of expressions) {
      const answer = await query(expr);
      if (answer.status !== 200) refused.push(`${what}: ${answer.status} ${answer.error ?? ''}\n  ${expr}`);
    }
    expect(refused, refused.join('\n')).toEqual([]);
  }, 20_000);

  it('gets at least one series for every query of the dashboard', async () => {
    const queries = dashboardQueries();
    let empty: string[] = [];
    const deadline = Date.now() + 20_000;
    do {
      empty = [];
      for (const q of queries) {
        const answer = await query(concrete(q.expr));
        if (answer.series.length === 0) empty.push(`panel "${q.panel}" ${q.refId}: ${concrete(q.expr)}`);
      }
      if (empty.length === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    } while (Date.now() < deadline);
    expect(empty, `no data for:\n${empty.join('\n')}`).toEqual([]);
  }, 25_000);

  it('finds the Rollout, its namespace and its routed host for the variables', async () => {
    const expected: Record<string, string> = { namespace: EXAMPLE.namespace, rollout: EXAMPLE.rollout, service: EXAMPLE.service };
    for (const variable of loadDashboard().templating.list.filter((v) => v.type === 'query')) {
      const parsed = parseLabelValues(variableQuery(variable));
      expect(parsed, variable.name).toBeDefined();
      const params = new URLSearchParams({ 'match[]': concrete(parsed!.selector) });
      const response = await fetch(`${prometheus!.url}/api/v1/label/${parsed!.label}/values?${params}`);
      const body = (await response.json()) as { data: string[] };
      expect(body.data, variable.name).toContain(expected[variable.name]);
    }
  }, 20_000);

  // The dashboard shows what the analysis judges: the same numbers as the controller's own
  // queries (src/analysis/queries.ts), at the same instant over the same window.
  it('shows the error rate, p99 and request rate the analysis computes', async () => {
    const window = '10s';
    const target = (workload: string): WorkloadWindow => ({ namespace: EXAMPLE.namespace, workload, window, serviceHost: EXAMPLE.host });
    const byTitle = (title: string) => dashboardQueries().filter((q) => q.panel === title);
    const legendOf = (title: string) => new Map(allPanels().find((p) => p.title === title)!.targets!.map((t) => [t.refId, t.legendFormat]));
    const at = Date.now() / 1000;
    const value = async (expr: string) => {
      const answer = await query(expr, at);
      expect(answer.series, expr).toHaveLength(1);
      return Number(answer.series[0]!.value[1]);
    };
    for (const workload of ['canary', 'stable']) {
      const name = `${EXAMPLE.rollout}-${workload}`;
      const panelQuery = (title: string) => byTitle(title).find((q) => legendOf(title).get(q.refId) === workload)!.expr;
      const dashboardErrorRate = await value(concrete(panelQuery('Error rate'), { rateInterval: window, range: window }));
      expect(dashboardErrorRate, `${workload} error rate`).toBeCloseTo(await value(errorRateQuery(target(name))), 9);
      const dashboardP99 = await value(concrete(panelQuery('Latency p99'), { rateInterval: window, range: window }));
      expect(dashboardP99, `${workload} p99`).toBeCloseTo(await value(latencyP99Query(target(name))), 9);
      // increase() is rate() times the window, extrapolated alike.
      const dashboardRate = await value(concrete(panelQuery('Requests per second'), { rateInterval: window, range: window }));
      expect(dashboardRate * 10, `${workload} requests`).toBeCloseTo(await value(requestCountQuery(target(name))), 6);
    }
  }, 20_000);
});
