// The variation point for metrics backends (after Flagger's pkg/metrics/providers): one small
// interface, one file per backend. Prometheus is the only one today (prometheus.ts).

export interface MetricsProvider {
  /**
   * Evaluates an instant query that must yield one sample. Resolves to its value (NaN and ±Inf
   * included) or undefined when the result is empty; rejects with a descriptive Error otherwise.
   */
  query(promql: string): Promise<number | undefined>;
  /**
   * Evaluates an instant query that yields one sample per value of `label` (e.g. histogram
   * buckets by `le`): label value → sample value; empty when the result is. Rejects like query().
   */
  queryByLabel(promql: string, label: string): Promise<Map<string, number>>;
  /** True when the backend answers a trivial query. */
  isOnline(): Promise<boolean>;
}
