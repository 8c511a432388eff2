// Istio's "metrics merge" (applyPrometheusMerge in pkg/kube/inject): the pod's prometheus.io
// annotations are handed to pilot-agent in ISTIO_PROMETHEUS_ANNOTATIONS, and replaced by annotations
// pointing at the agent's status port, which serves the app's metrics and Envoy's together.
import type { V1EnvVar } from '@kubernetes/client-node';
import { parseGoBoolean } from '../annotations.ts';
import { statusPort } from '../istio/istio-constants.ts';

export interface PrometheusMergeResult {
  annotations: Record<string, string>;
  /** Where the app's own metrics are, for the agent to scrape; absent when the pod declared none. */
  scrapeEnv?: V1EnvVar;
}

type ScrapeKey = 'scrape' | 'path' | 'port';

// Prometheus' service discovery sanitizes annotation names, so prometheus.io/scrape, prometheus.io.scrape
// and prometheus-io/scrape mean the same; Istio matches all of them.
function scrapeKeyOf(annotation: string): ScrapeKey | undefined {
  const match = /^prometheus_io_(scrape|path|port)$/.exec(annotation.replace(/[^a-zA-Z0-9_]/g, '_'));
  return match?.[1] as ScrapeKey | undefined;
}

export function mergePrometheusAnnotations(annotations: Record<string, string>): PrometheusMergeResult {
  const declared: Partial<Record<ScrapeKey, string>> = {};
  for (const [key, value] of Object.entries(annotations)) {
    const scrapeKey = scrapeKeyOf(key);
    if (scrapeKey) declared[scrapeKey] = value;
  }
  // A pod that says it must not be scraped keeps its annotations; so does one already pointing at the agent.
  if (declared.scrape !== undefined && parseGoBoolean(declared.scrape) === false) return { annotations };
  if (declared.port === String(statusPort)) return { annotations };

  const merged = Object.fromEntries(Object.entries(annotations).filter(([key]) => scrapeKeyOf(key) === undefined));
  merged['prometheus.io/port'] = String(statusPort);
  merged['prometheus.io/path'] = '/stats/prometheus';
  merged['prometheus.io/scrape'] = 'true';
  const { scrape, path, port } = declared;
  const hasDeclared = scrape !== undefined || path !== undefined || port !== undefined;
  // Istio's PrometheusScrapeConfiguration JSON: every field, in this order, "" when not declared.
  const scrapeEnv = hasDeclared ? { name: 'ISTIO_PROMETHEUS_ANNOTATIONS', value: JSON.stringify({ scrape: scrape ?? '', path: path ?? '', port: port ?? '' }) } : undefined;
  return scrapeEnv ? { annotations: merged, scrapeEnv } : { annotations: merged };
}
