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
function sanitized(annotation: string): string {
  return annotation.replace(/[^a-zA-Z0-9_]/g, '_');
}

// Sanitizing keeps letters and the length (one code unit for one), so a key that does not start with
// "prometheus", or is not as long as one of the three, is none of them: most of a large pod's keys
// are dismissed without a regular expression.
function scrapeKeyOf(annotation: string): ScrapeKey | undefined {
  if ((annotation.length !== 18 && annotation.length !== 20) || !annotation.startsWith('prometheus')) return undefined;
  const match = /^prometheus_io_(scrape|path|port)$/.exec(sanitized(annotation));
  return match?.[1] as ScrapeKey | undefined;
}

function isScrapeTargetsKey(annotation: string): boolean {
  return annotation.length === 34 && annotation.startsWith('prometheus') && sanitized(annotation) === 'prometheus_istio_io_scrape_targets';
}

/** agentStatusPort: the mesh config's defaultConfig.statusPort, where the agent serves the merged metrics. */
export function mergePrometheusAnnotations(annotations: Record<string, string>, agentStatusPort: number = statusPort): PrometheusMergeResult {
  const declared: Partial<Record<ScrapeKey, string>> = {};
  // Keys, not entries, here and below: a large pod has hundreds of annotations.
  for (const key of Object.keys(annotations)) {
    const scrapeKey = scrapeKeyOf(key);
    if (scrapeKey) declared[scrapeKey] = annotations[key];
  }
  // A pod that says it must not be scraped keeps its annotations; so does one already pointing at the agent.
  if (declared.scrape !== undefined && parseGoBoolean(declared.scrape) === false) return { annotations };
  if (declared.port === String(agentStatusPort)) return { annotations };

  const merged: Record<string, string> = {};
  for (const key of Object.keys(annotations)) if (scrapeKeyOf(key) === undefined) merged[key] = annotations[key]!;
  merged['prometheus.io/port'] = String(agentStatusPort);
  merged['prometheus.io/path'] = '/stats/prometheus';
  merged['prometheus.io/scrape'] = 'true';
  const { scrape, path, port } = declared;
  const hasDeclared = scrape !== undefined || path !== undefined || port !== undefined;
  // Istio's PrometheusScrapeConfiguration JSON: every field, in this order, "" when not declared.
  const scrapeEnv = hasDeclared ? { name: 'ISTIO_PROMETHEUS_ANNOTATIONS', value: JSON.stringify({ scrape: scrape ?? '', path: path ?? '', port: port ?? '' }) } : undefined;
  return scrapeEnv ? { annotations: merged, scrapeEnv } : { annotations: merged };
}

// The data plane's own ports (pilot-agent's istioReservedPorts): scraping one is refused.
const reservedPorts: Record<string, string> = {
  '15000': 'Envoy admin',
  '15001': 'outbound traffic capture',
  '15004': 'pilot debug',
  '15006': 'inbound traffic capture',
  '15008': 'HBONE tunnel',
  '15020': 'pilot-agent status / merged Prometheus',
  '15021': 'Envoy health',
  '15053': 'DNS proxy',
  '15090': 'Envoy Prometheus (already merged)',
};

/**
 * Istio refuses a pod whose metrics merge would scrape a prometheus.io/port that is not a port, is
 * the agent's own, or is one of the data plane's ports; a port already pointing at the agent is kept.
 */
export function prometheusPortProblem(
  annotations: Record<string, string>,
  agentStatusPort: number = statusPort,
): { key: string; value: string; expected: string } | undefined {
  let key: string | undefined;
  let scrape: string | undefined;
  for (const annotation of Object.keys(annotations)) {
    const scrapeKey = scrapeKeyOf(annotation);
    if (scrapeKey === 'port') key = annotation;
    const value = annotations[annotation]!;
    if (scrapeKey === 'scrape' && parseGoBoolean(value) !== undefined) scrape = value;
  }
  if (key === undefined || (scrape !== undefined && parseGoBoolean(scrape) === false)) return undefined;
  // Targets given with prometheus.istio.io/scrape-targets are judged by their own rules.
  if (Object.keys(annotations).some(isScrapeTargetsKey)) return undefined;
  const value = annotations[key] ?? '';
  const agent = String(agentStatusPort);
  if (value === agent) return undefined;
  // strconv.Atoi: an optional sign, then decimal digits.
  const number = /^[+-]?\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(number) || number < 1 || number > 65535) return { key, value, expected: 'a port from 1 to 65535, which Istio\'s metrics merge scrapes' };
  const canonical = String(number);
  if (canonical === agent) return { key, value, expected: `another port than the agent's ${agent}, where the merged metrics are served` };
  const reserved = reservedPorts[canonical];
  if (reserved !== undefined) return { key, value, expected: `a port of the app's; ${canonical} is reserved for Istio (${reserved})` };
  return undefined;
}

