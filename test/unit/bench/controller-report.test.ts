import { describe, expect, it } from 'vitest';
import { parseControllerBenchFlags } from '../../../bench/controller.ts';
import { FLEETS } from '../../../bench/controller-fleet.ts';
import { detailRows, prometheusQueryCount, summaryRow, tableRows, type RunFigures } from '../../../bench/controller-report.ts';
import { rolloutOutcome, type Track } from '../../../bench/rollout-timeline.ts';

const MIB = 2 ** 20;

function run(overrides: Partial<RunFigures>): RunFigures {
  return {
    kind: 'switchboard', rollouts: 4, promoted: 4, allPromotedMs: 61_400, lateness: [1000, 2000, 3000, 40_000],
    requests: { total: 100, byVerb: new Map([['create', 40], ['patch', 60]]), byVerbAndResource: new Map([['create events', 40], ['patch rollouts/status', 60]]) },
    controllerCpuSeconds: 3.25, controllerPeakRssBytes: 120 * MIB, apiServerCpuSeconds: 10, podsCreated: 16, loadAverage: [2.04, 5.5],
    ...overrides,
  };
}

describe('the controller benchmark table', () => {
  it('gives requests per rollout by verb, and pods per promotion', () => {
    const row = summaryRow(run({}));
    expect(row).toMatchObject({
      N: 4, controller: 'Switchboard', 'all promoted': '61 s', 'API requests per rollout': 25,
      get: 0, create: 10, patch: 15, 'controller CPU': '3.3 s', 'peak RSS': '120 MiB', 'pods created per promotion': 4, 'load (1 min)': '2.0 → 5.5',
    });
    expect(row['step lateness p50']).toBe('3.0 s');
    expect(row['step lateness p99']).toBe('40.0 s');
  });

  it('divides pods by the rollouts that promoted, and says when none did or the time ran out', () => {
    expect(summaryRow(run({ kind: 'flagger', promoted: 3, podsCreated: 12 }))).toMatchObject({ controller: 'Flagger', 'pods created per promotion': 4 });
    const none = summaryRow(run({ promoted: 0, podsCreated: 5, lateness: [] }));
    expect(none['pods created per promotion']).toBe('-');
    expect(none['step lateness p50']).toBe('-');
    const { allPromotedMs: _, ...timedOut } = run({ promoted: 3 });
    expect(summaryRow(timedOut)['all promoted']).toBe('3/4 by the timeout');
  });

  it('adds the metric server columns to every row once one run has them, with a dash elsewhere', () => {
    const rows = tableRows([run({ kind: 'argo' }), run({ kind: 'flagger', prometheus: { queries: 36, cpuSeconds: 1.26 } })]);
    expect(Object.keys(rows[0]!)).toEqual(Object.keys(rows[1]!));
    expect(rows[0]).toMatchObject({ controller: 'Argo Rollouts', 'metric queries per rollout': '-', 'Prometheus CPU': '-' });
    expect(rows[1]).toMatchObject({ 'metric queries per rollout': 9, 'Prometheus CPU': '1.3 s' });
    expect(Object.keys(tableRows([run({})])[0]!)).not.toContain('Prometheus CPU');
  });

  it('lists requests by resource, most first', () => {
    expect(detailRows(run({})).map((r) => [r.request, r['per rollout']])).toEqual([['patch rollouts/status', 15], ['create events', 10]]);
  });
});

describe('counting Flagger\'s metric queries from Prometheus\' own counter', () => {
  it('sums the instant-query handler over response codes, and nothing else', () => {
    const text = [
      '# TYPE prometheus_http_requests_total counter',
      'prometheus_http_requests_total{code="200",handler="/api/v1/query"} 41',
      'prometheus_http_requests_total{code="400",handler="/api/v1/query"} 2',
      'prometheus_http_requests_total{code="200",handler="/api/v1/query_range"} 7',
      'prometheus_http_requests_total{code="200",handler="/metrics"} 3',
      'prometheus_http_request_duration_seconds_count{handler="/api/v1/query"} 43',
    ].join('\n');
    expect(prometheusQueryCount(text)).toBe(43);
    expect(prometheusQueryCount('')).toBe(0);
  });
});

describe('the rollout outcome', () => {
  const changedAt = 1_000_000;
  const at = (s: number) => changedAt + s * 1000;

  it('starts Flagger\'s promotion at its Promoting phase, and counts it promoted when the canary is back at 0%', () => {
    const track: Track = {
      weights: [{ value: 0, at: changedAt - 50_000 }, { value: 20, at: at(12) }, { value: 50, at: at(23) }, { value: 0, at: at(45) }],
      phases: [{ value: 'Progressing', at: at(2) }, { value: 'Promoting', at: at(34) }, { value: 'Finalising', at: at(45) }, { value: 'Succeeded', at: at(55) }],
    };
    expect(rolloutOutcome(track, FLEETS.flagger, changedAt)).toEqual({ lateness: [1000, 1000], promotedAfterMs: 45_000 });
    // The same weights read as a weight-driven controller: the promotion starts at 0%.
    expect(rolloutOutcome(track, FLEETS.argo, changedAt).lateness).toEqual([1000, 12_000]);
  });

  it('does not count a Flagger canary that failed as promoted', () => {
    const track: Track = {
      weights: [{ value: 20, at: at(12) }, { value: 50, at: at(23) }, { value: 0, at: at(30) }],
      phases: [{ value: 'Progressing', at: at(2) }, { value: 'Failed', at: at(30) }],
    };
    expect(rolloutOutcome(track, FLEETS.flagger, changedAt)).toEqual({ lateness: [1000] });
  });

  it('reads the canary weight of Flagger\'s VirtualService by host, the others\' by subset', () => {
    const flaggerRoute = { spec: { http: [{ route: [{ destination: { host: 'app-primary' }, weight: 80 }, { destination: { host: 'app-canary' }, weight: 20 }] }] } };
    expect(FLEETS.flagger.canaryWeightOf('app', flaggerRoute)).toBe(20);
    expect(FLEETS.flagger.canaryWeightOf('other', flaggerRoute)).toBe(0);
    const subsetRoute = { spec: { http: [{ name: 'primary', route: [{ destination: { host: 'app', subset: 'stable' }, weight: 50 }, { destination: { host: 'app', subset: 'canary' }, weight: 50 }] }] } };
    expect(FLEETS.switchboard.canaryWeightOf('app', subsetRoute)).toBe(50);
    expect(FLEETS.flagger.canaryWeightOf('app', subsetRoute)).toBe(0);
  });
});

describe('the controller benchmark flags', () => {
  it('runs the three controllers by default, and any of them by name', () => {
    expect(parseControllerBenchFlags([]).controllers).toEqual(['switchboard', 'argo', 'flagger']);
    expect(parseControllerBenchFlags(['--controllers=flagger,argo', '--rollouts=100,500'])).toMatchObject({ controllers: ['flagger', 'argo'], rollouts: [100, 500] });
  });

  it('refuses an unknown controller by name', () => {
    expect(() => parseControllerBenchFlags(['--controllers=flagger,linkerd'])).toThrow(/switchboard, argo, flagger.*"linkerd"/);
  });

  it('gives Flagger a Canary with the steps of the others and a check against the given Prometheus', () => {
    const [template] = FLEETS.flagger.shared('bench', 'http://127.0.0.1:9090');
    expect(template).toMatchObject({ kind: 'MetricTemplate', spec: { provider: { type: 'prometheus', address: 'http://127.0.0.1:9090' } } });
    expect(() => FLEETS.flagger.shared('bench', undefined)).toThrow(/Prometheus/);
    expect(FLEETS.flagger.rollout('bench', 'app', 'img')).toMatchObject({
      spec: { targetRef: { kind: 'Deployment', name: 'app' }, analysis: { interval: '10s', stepWeights: [20, 50] } },
    });
    expect(FLEETS.flagger.supporting('bench', 'app', 'img')).toMatchObject([{ kind: 'Deployment', spec: { replicas: 2 } }]);
  });
});
