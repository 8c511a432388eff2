// The variation point for metrics backends (after Flagger's pkg/metrics/providers): one small
// interface, one file per backend. Prometheus is the only one today (prometheus.ts).

export interface MetricsProvider {
  /**
   * Evaluates an instant query that must yield one sample. Resolves to its value (NaN and ±Inf
   * included) or undefined when the result is empty; rejects with a descriptive Error otherwise.
   */
  query(promql: string): Promise<number | undefined>;
  /** True when the backend answers a trivial query. */
  isOnline(): Promise<boolean>;
}
