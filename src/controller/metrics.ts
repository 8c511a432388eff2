// The controller's Prometheus metrics. Per-Rollout series go through RolloutMetrics, which knows
// every series it wrote for each Rollout, so that a phase change leaves exactly one info series
// and a deleted Rollout leaves none (stale series would keep alerts firing for objects that are gone).
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { httpStatusOf } from '../kube/api-errors.ts';
import type { CheckVerdict, RolloutPhase } from '../rollout/types.ts';

const VERDICTS: readonly CheckVerdict[] = ['pass', 'fail', 'inconclusive', 'error'];

/**
 * Why a reconcile failed, as a bounded label value. stale-patch (a JSON-patch `test` that no longer
 * holds) and analysis-config cannot be told from an HTTP status: the caller names them.
 */
export type ReconcileErrorReason =
  | 'conflict' | 'stale-patch' | 'invalid' | 'forbidden' | 'not-found' | 'throttled' | 'api-server' | 'unreachable' | 'analysis-config' | 'other';

/** The reason for an error thrown by the API client: by HTTP status, or unreachable when there is none. */
export function reconcileErrorReason(error: unknown): ReconcileErrorReason {
  const status = httpStatusOf(error);
  if (status === undefined) return isTransportError(error) ? 'unreachable' : 'other';
  if (status === 409) return 'conflict';
  if (status === 422 || status === 400) return 'invalid';
  if (status === 401 || status === 403) return 'forbidden';
  if (status === 404) return 'not-found';
  if (status === 429) return 'throttled';
  if (status >= 500) return 'api-server';
  return 'other';
}

/** A system error (ECONNREFUSED, ETIMEDOUT, ...) on the error or, as fetch reports it, on its cause; or a timeout. */
function isTransportError(error: unknown): boolean {
  const systemCode = (value: unknown) => typeof (value as { code?: unknown } | null)?.code === 'string' && /^E[A-Z]+$/.test((value as { code: string }).code);
  if (!(error instanceof Error)) return false;
  return systemCode(error) || systemCode(error.cause) || error.name === 'TimeoutError' || error.name === 'AbortError';
}

interface Written {
  phase?: RolloutPhase;
  weight: boolean;
  verdicts: boolean;
  reasons: Set<ReconcileErrorReason>;
  /** Metric names with a measured value series. */
  measured: Set<string>;
}

export class RolloutMetrics {
  readonly #info: Gauge<'namespace' | 'name' | 'phase'>;
  readonly #canaryWeight: Gauge<'namespace' | 'name'>;
  readonly #analysisRounds: Counter<'namespace' | 'name' | 'verdict'>;
  readonly #reconcileErrors: Counter<'namespace' | 'name' | 'reason'>;
  readonly #measured: Gauge<'namespace' | 'name' | 'metric'>;
  readonly #limit: Gauge<'namespace' | 'name' | 'metric'>;
  readonly #written = new Map<string, Written>();

  constructor(registry: Registry) {
    const registers = [registry];
    this.#info = new Gauge({
      name: 'switchboard_rollout_info', help: 'One series per Rollout, value 1, labelled with its current phase', labelNames: ['namespace', 'name', 'phase'], registers,
    });
    this.#canaryWeight = new Gauge({
      name: 'switchboard_rollout_canary_weight', help: 'Percent of traffic the canary receives, as last written to the VirtualService', labelNames: ['namespace', 'name'], registers,
    });
    this.#analysisRounds = new Counter({
      name: 'switchboard_rollout_analysis_rounds_total', help: 'Analysis rounds by verdict (pass, fail, inconclusive, error)', labelNames: ['namespace', 'name', 'verdict'], registers,
    });
    this.#reconcileErrors = new Counter({
      name: 'switchboard_rollout_reconcile_errors_total', help: 'Failed reconciles by reason', labelNames: ['namespace', 'name', 'reason'], registers,
    });
    // Next to the limits, so that a dashboard plots a canary's measures against what judges them.
    this.#measured = new Gauge({
      name: 'switchboard_rollout_analysis_value', help: "Each metric's value in the Rollout's last analysis round (the judge's p-value)",
      labelNames: ['namespace', 'name', 'metric'], registers,
    });
    this.#limit = new Gauge({
      name: 'switchboard_rollout_analysis_limit', help: "Each metric's limit in the last round (max, else min; the judge's significance)",
      labelNames: ['namespace', 'name', 'metric'], registers,
    });
  }

  /** The values of a round: a metric without a finite value this round has no series until it has one. */
  recordMeasurements(namespace: string, name: string, checks: readonly { name: string; value?: number; limit?: number }[]): void {
    const written = this.#entry(namespace, name);
    for (const check of checks) {
      const labels = { namespace, name, metric: check.name };
      written.measured.add(check.name);
      if (check.value === undefined) this.#measured.remove(labels);
      else this.#measured.set(labels, check.value);
      if (check.limit === undefined) this.#limit.remove(labels);
      else this.#limit.set(labels, check.limit);
    }
  }

  /** The Rollout's phase as just observed or written: its info series moves to the new phase. */
  setPhase(namespace: string, name: string, phase: RolloutPhase): void {
    const written = this.#entry(namespace, name);
    if (written.phase !== undefined && written.phase !== phase) this.#info.remove({ namespace, name, phase: written.phase });
    written.phase = phase;
    this.#info.set({ namespace, name, phase }, 1);
  }

  setCanaryWeight(namespace: string, name: string, weight: number): void {
    this.#entry(namespace, name).weight = true;
    this.#canaryWeight.set({ namespace, name }, weight);
  }

  countAnalysisRound(namespace: string, name: string, verdict: CheckVerdict): void {
    const written = this.#entry(namespace, name);
    if (!written.verdicts) {
      // Every verdict starts at 0, so that increase() sees the first failure instead of a series appearing.
      for (const each of VERDICTS) this.#analysisRounds.inc({ namespace, name, verdict: each }, 0);
      written.verdicts = true;
    }
    this.#analysisRounds.inc({ namespace, name, verdict });
  }

  countReconcileError(namespace: string, name: string, reason: ReconcileErrorReason): void {
    this.#entry(namespace, name).reasons.add(reason);
    this.#reconcileErrors.inc({ namespace, name, reason });
  }

  /** Removes every series of a Rollout that is gone. */
  forget(namespace: string, name: string): void {
    const written = this.#written.get(key(namespace, name));
    if (written === undefined) return;
    if (written.phase !== undefined) this.#info.remove({ namespace, name, phase: written.phase });
    if (written.weight) this.#canaryWeight.remove({ namespace, name });
    if (written.verdicts) for (const verdict of VERDICTS) this.#analysisRounds.remove({ namespace, name, verdict });
    for (const reason of written.reasons) this.#reconcileErrors.remove({ namespace, name, reason });
    for (const metric of written.measured) {
      this.#measured.remove({ namespace, name, metric });
      this.#limit.remove({ namespace, name, metric });
    }
    this.#written.delete(key(namespace, name));
  }

  #entry(namespace: string, name: string): Written {
    const id = key(namespace, name);
    let written = this.#written.get(id);
    if (written === undefined) {
      written = { weight: false, verdicts: false, reasons: new Set(), measured: new Set() };
      this.#written.set(id, written);
    }
    return written;
  }
}

function key(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

export function createControllerMetrics(registry = new Registry()) {
  const rollouts = new RolloutMetrics(registry);
  return {
    registry,
    rollouts,
    reconciles: new Counter({ name: 'switchboard_rollout_reconciles_total', help: 'Reconciles by result', labelNames: ['result'] as const, registers: [registry] }),
    actions: new Counter({ name: 'switchboard_rollout_actions_total', help: 'Actions decided, by kind', labelNames: ['kind'] as const, registers: [registry] }),
    reconcileDuration: new Histogram({
      name: 'switchboard_rollout_reconcile_duration_seconds', help: 'Time for one reconcile', buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10], registers: [registry],
    }),
    dataPlaneSyncSeconds: new Histogram({
      name: 'switchboard_data_plane_sync_seconds', help: 'From a VirtualService write until every proxy was synced on it, or had applied it',
      labelNames: ['level'] as const, buckets: [0.1, 0.2, 0.5, 1, 2, 5, 11, 15, 30, 60], registers: [registry],
    }),
    dataPlaneSyncTimeouts: new Counter({
      name: 'switchboard_data_plane_sync_timeouts_total', help: 'Waits for the data plane that ended unconfirmed (timeout, or istiod not reachable)', registers: [registry],
    }),
    istiodRequests: new Counter({ name: 'switchboard_istiod_requests_total', help: "Requests to istiod's /debug/syncz by result", labelNames: ['result'] as const, registers: [registry] }),
    // Per Lease (one per shard): 1 on the replica that acts on its Rollouts, 0 on standbys, so that
    // sum by (lease) == 0 says no replica acts.
    leading: new Gauge({
      name: 'switchboard_controller_leading', help: "1 when this replica acts on the Lease's Rollouts (it holds the Lease, or runs without leader election), else 0",
      labelNames: ['lease'] as const, registers: [registry],
    }),
  };
}

export type ControllerMetrics = ReturnType<typeof createControllerMetrics>;
