// The controller benchmark's tables, shaped from the runs' results (pure: no I/O).
import { FLEETS, type ControllerKind } from './controller-fleet.ts';
import type { RequestCounts } from './audit-log.ts';
import { percentile } from './table.ts';

export const VERBS = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] as const;

/** From switchboard_data_plane_sync_seconds: writes confirmed, their total time, and the bucket bounding the 99th percentile. */
export interface SyncFigures {
  count: number;
  sumSeconds: number;
  p99Bound: string;
}

/** What one run measured, the figures the tables are made of. */
export interface RunFigures {
  kind: ControllerKind;
  rollouts: number;
  promoted: number;
  allPromotedMs?: number;
  lateness: number[];
  requests: RequestCounts;
  controllerCpuSeconds: number;
  controllerPeakRssBytes: number;
  apiServerCpuSeconds: number;
  /** Pods the API server accepted in the bench's namespace over the measured window. */
  podsCreated: number;
  /** With istiod: how long confirmation took per write, by level (synced, applied), and istiod's CPU. */
  dataPlane?: Record<string, SyncFigures>;
  istiodCpuSeconds?: number;
  /** The machine's 1-minute load average when the images changed and when the window closed. */
  loadAverage: [number, number];
  /** Flagger's metric server: queries it answered over the measured window, and its CPU. */
  prometheus?: { queries: number; cpuSeconds: number };
}

export function summaryRow(r: RunFigures): Record<string, string | number> {
  const lateness = [...r.lateness].sort((a, b) => a - b);
  const perRollout = (count: number) => count / r.rollouts;
  const row: Record<string, string | number> = {
    N: r.rollouts,
    controller: FLEETS[r.kind].title,
    'all promoted': r.allPromotedMs === undefined ? `${r.promoted}/${r.rollouts} by the timeout` : `${(r.allPromotedMs / 1000).toFixed(0)} s`,
    'step lateness p50': lateness.length === 0 ? '-' : `${(percentile(lateness, 50) / 1000).toFixed(1)} s`,
    'step lateness p99': lateness.length === 0 ? '-' : `${(percentile(lateness, 99) / 1000).toFixed(1)} s`,
    'API requests per rollout': perRollout(r.requests.total),
  };
  for (const verb of VERBS) row[verb] = perRollout(r.requests.byVerb.get(verb) ?? 0);
  row['controller CPU'] = `${r.controllerCpuSeconds.toFixed(1)} s`;
  row['peak RSS'] = `${(r.controllerPeakRssBytes / 2 ** 20).toFixed(0)} MiB`;
  row['kube-apiserver CPU'] = `${r.apiServerCpuSeconds.toFixed(1)} s`;
  // Per promotion, not per rollout: a rollout that did not promote may still have made pods.
  row['pods created per promotion'] = r.promoted === 0 ? '-' : r.podsCreated / r.promoted;
  row['load (1 min)'] = `${r.loadAverage[0].toFixed(1)} → ${r.loadAverage[1].toFixed(1)}`;
  return row;
}

/** Columns only some runs have (istiod, Prometheus): a dash where a run has none. */
export function extraColumns(r: RunFigures, withDataPlane: boolean, withPrometheus: boolean): Record<string, string | number> {
  const row: Record<string, string | number> = {};
  if (withDataPlane) {
    for (const level of ['synced', 'applied']) {
      const sync = r.dataPlane?.[level];
      row[`${level} per write`] = sync === undefined || sync.count === 0 ? '-' : `${(sync.sumSeconds / sync.count).toFixed(2)} s mean, ${sync.count} writes, p99 ≤ ${sync.p99Bound} s`;
    }
    row['istiod CPU'] = r.istiodCpuSeconds === undefined ? '-' : `${r.istiodCpuSeconds.toFixed(1)} s`;
  }
  if (withPrometheus) {
    row['metric queries per rollout'] = r.prometheus === undefined ? '-' : r.prometheus.queries / r.rollouts;
    row['Prometheus CPU'] = r.prometheus === undefined ? '-' : `${r.prometheus.cpuSeconds.toFixed(1)} s`;
  }
  return row;
}

export function tableRows(results: RunFigures[]): Record<string, string | number>[] {
  const withDataPlane = results.some((r) => r.dataPlane !== undefined);
  const withPrometheus = results.some((r) => r.prometheus !== undefined);
  return results.map((r) => ({ ...summaryRow(r), ...extraColumns(r, withDataPlane, withPrometheus) }));
}

export function detailRows(r: RunFigures): Record<string, string | number>[] {
  return [...r.requests.byVerbAndResource.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([what, count]) => ({ N: r.rollouts, controller: r.kind, request: what, 'per rollout': count / r.rollouts }));
}

/**
 * Instant queries a Prometheus has answered, from its own /metrics text: the counter
 * prometheus_http_requests_total of the /api/v1/query handler, summed over response codes.
 */
export function prometheusQueryCount(metricsText: string): number {
  let total = 0;
  for (const line of metricsText.split('\n')) {
    const match = /^prometheus_http_requests_total\{([^}]*)\} (\S+)$/.exec(line);
    if (!match) continue;
    if (/(?:^|,)handler="\/api\/v1\/query"/.test(match[1]!)) total += Number(match[2]);
  }
  return total;
}
