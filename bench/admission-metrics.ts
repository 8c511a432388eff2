// The API server's own account of time spent in admission webhooks: the histogram
// apiserver_admission_webhook_admission_duration_seconds, one series per webhook name, read from
// its /metrics before and after a run. Quantiles are estimated from the buckets the way
// Prometheus' histogram_quantile does (linear within the bucket), so they are only as fine as the
// API server's bucket bounds.

const METRIC = 'apiserver_admission_webhook_admission_duration_seconds';

export interface WebhookHistogram {
  /** Cumulative counts by upper bound (seconds), +Inf last. */
  buckets: Map<number, number>;
  sum: number;
  count: number;
}

/** Histograms per webhook name, summed over operation, type and rejected. */
export function parseWebhookHistograms(metricsText: string): Map<string, WebhookHistogram> {
  const histograms = new Map<string, WebhookHistogram>();
  const of = (name: string) => {
    let histogram = histograms.get(name);
    if (!histogram) histograms.set(name, (histogram = { buckets: new Map(), sum: 0, count: 0 }));
    return histogram;
  };
  for (const line of metricsText.split('\n')) {
    const match = new RegExp(`^${METRIC}_(bucket|sum|count)\\{([^}]*)\\} (\\S+)$`).exec(line);
    if (!match) continue;
    const labels = Object.fromEntries([...match[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
    if (labels.name === undefined) continue;
    const histogram = of(labels.name);
    const value = Number(match[3]);
    if (match[1] === 'sum') histogram.sum += value;
    else if (match[1] === 'count') histogram.count += value;
    else {
      const bound = labels.le === '+Inf' ? Infinity : Number(labels.le);
      histogram.buckets.set(bound, (histogram.buckets.get(bound) ?? 0) + value);
    }
  }
  return histograms;
}

/** What was observed between two scrapes. */
export function histogramDelta(after: WebhookHistogram | undefined, before: WebhookHistogram | undefined): WebhookHistogram {
  const buckets = new Map<number, number>();
  for (const [bound, count] of after?.buckets ?? []) buckets.set(bound, count - (before?.buckets.get(bound) ?? 0));
  return { buckets, sum: (after?.sum ?? 0) - (before?.sum ?? 0), count: (after?.count ?? 0) - (before?.count ?? 0) };
}

/** The q-quantile in seconds, interpolated within its bucket; the highest finite bound if it falls in +Inf. */
export function histogramQuantile(histogram: WebhookHistogram, q: number): number {
  const bounds = [...histogram.buckets.keys()].sort((a, b) => a - b);
  const total = histogram.buckets.get(Infinity) ?? histogram.count;
  if (total <= 0 || bounds.length === 0) return NaN;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const bound of bounds) {
    const count = histogram.buckets.get(bound)!;
    if (count >= rank) {
      if (bound === Infinity) return lowerBound;
      return lowerBound + (bound - lowerBound) * ((rank - lowerCount) / Math.max(count - lowerCount, Number.MIN_VALUE));
    }
    lowerBound = bound;
    lowerCount = count;
  }
  return lowerBound;
}
