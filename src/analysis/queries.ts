// PromQL for the analysis: built-in Istio queries and templated custom queries.
// Istio's standard metrics carry destination_workload = the Deployment's name, which is why the
// controller runs the canary as its own Deployment (<name>-canary): the canary's series are
// exact. Why the error rate reads both reporters, and what each one sees: docs/analysis.md.
import type { ResolvedAnalysis } from '../rollout/defaults.ts';
import { ROLLOUT_LABEL, type AnalysisMetric, type JobMetricSpec, type JudgeSpec, type WebMetricSpec } from '../rollout/types.ts';
import { DEFAULT_MIN_SAMPLES, DEFAULT_SIGNIFICANCE } from './judge/judge.ts';
import { parseDuration } from '../rollout/durations.ts';
import { prometheusAddressProblem } from './prometheus-address.ts';
import { ANALYSIS_METRIC_LABEL, ANALYSIS_ROUND_ANNOTATION, analysisJobName } from './providers/job-measurement.ts';
import type { AnalysisPlan, ComparisonCheck, JobCheck, JudgeCheck, PlannedCheck, ThresholdCheck, WebCheck } from './types.ts';

export const ERROR_RATE_METRIC = 'error-rate';
export const LATENCY_P99_METRIC = 'latency-p99';
export const ERROR_RATE_INCREASE_CHECK = 'error-rate-increase';
export const BUILTIN_METRICS: readonly string[] = [ERROR_RATE_METRIC, LATENCY_P99_METRIC];

/** Stable code for every problem in a custom query template, shown in the Rollout's status. */
export class AnalysisConfigError extends Error {
  readonly code = 'SB_ANALYSIS_CONFIG';
  override readonly name = 'AnalysisConfigError';
}

export interface WorkloadWindow {
  namespace: string;
  /** The Deployment name: destination_workload in Istio's metrics. */
  workload: string;
  /** PromQL range, e.g. "1m": the analysis interval, so consecutive rounds do not overlap. */
  window: string;
  /**
   * The routed host as the VirtualService names it (short name, name.namespace or FQDN). With it,
   * failures the callers' proxies could not attribute to any workload (no healthy upstream: no pod
   * was chosen, so destination_workload is "unknown") count against this workload too.
   */
  serviceHost?: string;
}

type Reporter = 'source' | 'destination';
const BOTH_REPORTERS: readonly Reporter[] = ['source', 'destination'];
/**
 * While a mirror route copies requests to the canary, its own proxy reports the copies like any
 * request (Istio's callers' proxies do not report them at all: istio/istio#23496). Their answers
 * are dropped, so their failures must not judge the canary: only the callers' view counts then.
 */
const CALLERS_ONLY: readonly Reporter[] = ['source'];

/**
 * A failed request: a 5xx, a response code 0 (the connection was reset or closed before any
 * response), or a gRPC call whose HTTP status looks fine but whose grpc-status is not OK. The
 * two matchers are disjoint (by response_code), so their union counts each series once.
 */
const FAILED = ['response_code=~"0|5.."', 'response_code!~"0|5..",grpc_response_status!~"|0"'] as const;

function workloadSelector({ namespace, workload }: WorkloadWindow, reporter: Reporter, extra = ''): string {
  return `{reporter="${reporter}",destination_workload_namespace="${namespace}",destination_workload="${workload}"${extra ? `,${extra}` : ''}}`;
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\\\$&');
}

/** destination_service (always the FQDN in Istio's metrics) matcher for the routed host. */
export function destinationServiceMatcher(host: string, namespace: string): string {
  const parts = host.split('.');
  if (parts.length > 2) return `destination_service="${host}"`;
  // A short name is resolved in the rollout's namespace; the cluster domain is not known here.
  const qualified = parts.length === 1 ? `${host}.${namespace}` : host;
  return `destination_service=~"${escapeRegex(`${qualified}.svc.`)}.+"`;
}

function unattributedSelector(target: WorkloadWindow & { serviceHost: string }, extra: string): string {
  return `{reporter="source",destination_workload="unknown",${destinationServiceMatcher(target.serviceHost, target.namespace)},${extra}}`;
}

/** `fn`(istio_requests_total[window]) summed over the series this reporter attributes to the target. */
function summed(target: WorkloadWindow, reporter: Reporter, fn: 'rate' | 'increase', failedOnly: boolean): string {
  const term = (selector: string) => `${fn}(istio_requests_total${selector}[${target.window}])`;
  const terms = failedOnly ? FAILED.map((failed) => term(workloadSelector(target, reporter, failed))) : [term(workloadSelector(target, reporter))];
  // Only the caller's proxy reports a request that found no pod to go to.
  if (reporter === 'source' && target.serviceHost !== undefined) {
    terms.push(term(unattributedSelector({ ...target, serviceHost: target.serviceHost }, FAILED[0])));
  }
  return `sum(${terms.join(' or ')})`;
}

/** Gives each reporter's single unlabelled sample a label of its own, so that `or` keeps both. */
function perReporter(query: (reporter: Reporter) => string, reporters: readonly Reporter[] = BOTH_REPORTERS): string {
  const labelled = reporters.map((reporter) => `label_replace(${query(reporter)}, "reporter", "${reporter}", "", "")`);
  return `max(${labelled.join(' or ')})`;
}

/**
 * Failed share in percent, the worse of the two views: what the callers' proxies saw (which
 * includes requests that never reached the canary) and what the canary's own proxy saw (which
 * includes callers outside the mesh). The numerator falls back to 0 (`or vector(0)`) because a
 * healthy workload has no failure series at all; the denominator has no fallback: no traffic in a
 * view leaves that view empty, and with both empty the result is empty: inconclusive, as it must be.
 */
export function errorRateQuery(target: WorkloadWindow, mirrored = false): string {
  const rate = (reporter: Reporter) => `100 * (${summed(target, reporter, 'rate', true)} or vector(0)) / ${summed(target, reporter, 'rate', false)}`;
  return perReporter(rate, mirrored ? CALLERS_ONLY : BOTH_REPORTERS);
}

/** Requests in the window, the larger of the two views: the evidence behind the other checks (minRequests). */
export function requestCountQuery(target: WorkloadWindow, mirrored = false): string {
  return perReporter((reporter) => summed(target, reporter, 'increase', false), mirrored ? CALLERS_ONLY : BOTH_REPORTERS);
}

export function latencyP99Query(target: WorkloadWindow): string {
  return `histogram_quantile(0.99, sum by (le) (rate(istio_request_duration_milliseconds_bucket${workloadSelector(target, 'destination')}[${target.window}])))`;
}

export interface TemplateVariables {
  namespace: string;
  name: string;
  canary: string;
  stable: string;
  interval: string;
}

export const TEMPLATE_VARIABLES: readonly (keyof TemplateVariables)[] = ['namespace', 'name', 'canary', 'stable', 'interval'];

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;

function isTemplateVariable(word: string): word is keyof TemplateVariables {
  return (TEMPLATE_VARIABLES as readonly string[]).includes(word);
}

/**
 * Replaces `{{ variable }}` and `{{ args.NAME }}`; an unknown variable or argument is an error,
 * never silently left in the query.
 */
export function renderQueryTemplate(metricName: string, template: string, variables: TemplateVariables, args: Readonly<Record<string, string>> = {}): string {
  return template.replace(PLACEHOLDER, (_placeholder, word: string) => {
    if (word.startsWith('args.')) {
      const value = args[word.slice('args.'.length)];
      if (value === undefined) {
        throw new AnalysisConfigError(`metric ${metricName}: no value for {{ ${word} }} in query; give it in spec.analysis.args (or as the template's default)`);
      }
      return value;
    }
    if (!isTemplateVariable(word)) {
      throw new AnalysisConfigError(
        `metric ${metricName}: unknown template variable {{ ${word} }} in query; ` +
          `use one of ${TEMPLATE_VARIABLES.map((known) => `{{ ${known} }}`).join(', ')}`,
      );
    }
    return variables[word];
  });
}

export interface PlanInput {
  namespace: string;
  rolloutName: string;
  canaryWorkload: string;
  stableWorkload: string;
  canaryRevision: string;
  stepIndex: number;
  analysis: ResolvedAnalysis;
  /** spec.trafficRouting.host: lets the error rate count failures that never reached a pod. */
  serviceHost?: string;
  /** A mirror route copies requests to the canary: those copies are not judged (CALLERS_ONLY). */
  mirrored?: boolean;
  /** spec.analysis.prometheus.address: this Rollout's own Prometheus instead of the manager's. */
  prometheusAddress?: string;
  /**
   * The shortest range a rate() may use: four scrape intervals of the Prometheus asked (so a
   * window always holds enough samples). An interval shorter than this widens the range vector
   * instead of giving rate() one sample or none, which reads as "no traffic" for ever.
   */
  minWindowMs?: number;
  /**
   * What tells this round from the step's others (the times its schedule follows from): with the
   * revision and step, it names the round's Jobs, so that a restart finds them again.
   */
  round?: string;
  /** The Rollout's uid: its Jobs name it as their owner. */
  rolloutUid?: string;
  /**
   * All traffic goes to the canary (weight 100: a post-promotion watch, blue-green after its
   * switch). Stable serves nothing to compare with, so the comparisons with it (judges,
   * maxErrorRateIncrease) are left out, rather than leave every round inconclusive.
   */
  stableIdle?: boolean;
}

/** The range vector of every query: the interval, widened to minWindowMs when shorter. */
function queryWindow(interval: string, minWindowMs: number | undefined): string {
  const intervalMs = parseDuration(interval);
  if (minWindowMs === undefined || intervalMs === undefined || intervalMs >= minWindowMs) return interval;
  return `${Math.ceil(minWindowMs / 1000)}s`;
}

function plannedMetric(
  metric: AnalysisMetric, canary: WorkloadWindow, variables: TemplateVariables, mirrored: boolean, args: Readonly<Record<string, string>>,
): ThresholdCheck {
  if (BUILTIN_METRICS.includes(metric.name) && metric.judge !== undefined) {
    throw new AnalysisConfigError(`metric ${metric.name}: a built-in metric takes no judge; give the judge a name of its own`);
  }
  if (metric.name === ERROR_RATE_METRIC) {
    return { kind: 'threshold', name: metric.name, query: errorRateQuery(canary, mirrored), max: metric.maxErrorRatePercent, unit: '%' };
  }
  if (metric.name === LATENCY_P99_METRIC) {
    return { kind: 'threshold', name: metric.name, query: latencyP99Query(canary), max: metric.maxLatencyMs, unit: 'ms' };
  }
  if (metric.query === undefined || (metric.max === undefined && metric.min === undefined)) {
    throw new AnalysisConfigError(
      `metric ${metric.name}: a custom metric needs a query and max or min (built-in metrics are ${BUILTIN_METRICS.join(', ')})`,
    );
  }
  const query = renderQueryTemplate(metric.name, metric.query, variables, args);
  return { kind: 'threshold', name: metric.name, query, max: metric.max, min: metric.min, unit: '' };
}

/**
 * The judge's queries: counts (not rates) over the window, from one reporter for both sides so
 * that they are measured alike: the workloads' own proxies, which see every request they served,
 * or the callers' while a mirror route adds copies only the workloads' proxies report.
 */
function plannedJudge(metric: AnalysisMetric, judge: JudgeSpec, canaryWindow: WorkloadWindow, stableWindow: WorkloadWindow, mirrored: boolean): JudgeCheck {
  if (metric.query !== undefined || metric.max !== undefined || metric.min !== undefined || metric.maxErrorRatePercent !== undefined || metric.maxLatencyMs !== undefined) {
    throw new AnalysisConfigError(`metric ${metric.name}: a judge compares canary with stable and takes no query, max, min, maxErrorRatePercent or maxLatencyMs`);
  }
  const reporter: Reporter = mirrored ? 'source' : 'destination';
  // Without the service host: failures that reached no pod are no side's own.
  const canary: WorkloadWindow = { namespace: canaryWindow.namespace, workload: canaryWindow.workload, window: canaryWindow.window };
  const stable: WorkloadWindow = { namespace: stableWindow.namespace, workload: stableWindow.workload, window: stableWindow.window };
  const settings = {
    kind: 'judge' as const, name: metric.name,
    significance: judge.significance ?? DEFAULT_SIGNIFICANCE, minSamples: judge.minSamples ?? DEFAULT_MIN_SAMPLES,
  };
  if (judge.test === 'Latency') {
    const buckets = (target: WorkloadWindow) =>
      `sum by (le) (increase(istio_request_duration_milliseconds_bucket${workloadSelector(target, 'destination')}[${target.window}]))`;
    return { ...settings, test: 'Latency', canaryBuckets: buckets(canary), stableBuckets: buckets(stable) };
  }
  return {
    ...settings, test: 'ErrorRate',
    canaryTotal: summed(canary, reporter, 'increase', false), canaryFailed: summed(canary, reporter, 'increase', true),
    stableTotal: summed(stable, reporter, 'increase', false), stableFailed: summed(stable, reporter, 'increase', true),
  };
}

export const DEFAULT_WEB_TIMEOUT_SECONDS = 10;

/** A web metric, its URL and body rendered like a query. */
function plannedWeb(metric: AnalysisMetric, web: WebMetricSpec, variables: TemplateVariables, args: Readonly<Record<string, string>>): WebCheck {
  if (BUILTIN_METRICS.includes(metric.name) || metric.query !== undefined || metric.judge !== undefined) {
    throw new AnalysisConfigError(`metric ${metric.name}: a web metric has a name of its own and takes no query or judge`);
  }
  if (metric.max === undefined && metric.min === undefined) throw new AnalysisConfigError(`metric ${metric.name}: a web metric needs max or min`);
  const method = web.method ?? 'GET';
  if (web.body !== undefined && method !== 'POST') throw new AnalysisConfigError(`metric ${metric.name}: web.body needs method POST`);
  const url = renderQueryTemplate(metric.name, web.url, variables, args);
  if (!/^https?:\/\//.test(url)) throw new AnalysisConfigError(`metric ${metric.name}: web.url "${url}" must be an http or https URL`);
  return {
    kind: 'web', name: metric.name, url, method, headers: web.headers ?? [], jsonPath: web.jsonPath,
    timeoutMs: (web.timeoutSeconds ?? DEFAULT_WEB_TIMEOUT_SECONDS) * 1000,
    ...(web.body === undefined ? {} : { body: renderQueryTemplate(metric.name, web.body, variables, args) }),
    ...(web.caBundle === undefined ? {} : { caBundle: web.caBundle }),
    ...(metric.max === undefined ? {} : { max: metric.max }), ...(metric.min === undefined ? {} : { min: metric.min }),
  };
}

export const DEFAULT_JOB_TIMEOUT_SECONDS = 600;

/** Every string of a JSON value rendered like a query: a Job spec may pass {{ canary }} or {{ args.NAME }} to its pods. */
function renderStrings(metricName: string, value: unknown, variables: TemplateVariables, args: Readonly<Record<string, string>>): unknown {
  if (typeof value === 'string') return renderQueryTemplate(metricName, value, variables, args);
  if (Array.isArray(value)) return value.map((item) => renderStrings(metricName, item, variables, args));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, renderStrings(metricName, item, variables, args)]));
  }
  return value;
}

/** A job metric: the Job of this round, named after the Rollout, the metric and the round. */
function plannedJob(
  metric: AnalysisMetric, job: JobMetricSpec, variables: TemplateVariables, args: Readonly<Record<string, string>>, input: PlanInput,
): JobCheck {
  const others = [metric.query, metric.judge, metric.web, metric.max, metric.min];
  if (BUILTIN_METRICS.includes(metric.name) || others.some((value) => value !== undefined)) {
    throw new AnalysisConfigError(`metric ${metric.name}: a job metric has a name of its own and takes no query, judge, web, max or min: the Job's success is the measurement`);
  }
  const template: unknown = job.spec?.template;
  if (template === null || typeof template !== 'object') throw new AnalysisConfigError(`metric ${metric.name}: job.spec.template (the Job's pod template) is missing`);
  const round = `${input.canaryRevision}/${input.stepIndex}/${input.round ?? ''}`;
  const rendered = (strings: Record<string, string> | undefined) => renderStrings(metric.name, strings ?? {}, variables, args) as Record<string, string>;
  return {
    kind: 'job', name: metric.name,
    job: {
      name: analysisJobName(input.rolloutName, metric.name, round),
      namespace: input.namespace,
      labels: { ...rendered(job.metadata?.labels), [ROLLOUT_LABEL]: input.rolloutName, [ANALYSIS_METRIC_LABEL]: metric.name },
      annotations: { ...rendered(job.metadata?.annotations), [ANALYSIS_ROUND_ANNOTATION]: round },
      spec: renderStrings(metric.name, job.spec, variables, args) as Record<string, unknown>,
    },
    ...(input.rolloutUid === undefined ? {} : { owner: { name: input.rolloutName, uid: input.rolloutUid } }),
    timeoutMs: (job.timeoutSeconds ?? DEFAULT_JOB_TIMEOUT_SECONDS) * 1000,
  };
}

/** Renders every query of one round. Throws AnalysisConfigError for a spec it cannot render. */
export function buildAnalysisPlan(input: PlanInput): AnalysisPlan {
  const { analysis, namespace } = input;
  if (input.prometheusAddress !== undefined) {
    const problem = prometheusAddressProblem(input.prometheusAddress);
    if (problem !== undefined) throw new AnalysisConfigError(`spec.analysis.prometheus.address: ${problem}`);
  }
  const service = input.serviceHost === undefined ? {} : { serviceHost: input.serviceHost };
  const window = queryWindow(analysis.interval, input.minWindowMs);
  const canary: WorkloadWindow = { namespace, workload: input.canaryWorkload, window, ...service };
  const stable: WorkloadWindow = { namespace, workload: input.stableWorkload, window, ...service };
  const variables: TemplateVariables = {
    namespace,
    name: input.rolloutName,
    canary: input.canaryWorkload,
    stable: input.stableWorkload,
    interval: window,
  };
  const checks: PlannedCheck[] = analysis.metrics.map((metric) => {
    const args = analysis.args ?? {};
    let check: PlannedCheck;
    if (metric.job !== undefined) check = plannedJob(metric, metric.job, variables, args, input);
    else if (metric.web !== undefined) check = plannedWeb(metric, metric.web, variables, args);
    else if (metric.judge !== undefined) check = plannedJudge(metric, metric.judge, canary, stable, input.mirrored ?? false);
    else check = plannedMetric(metric, canary, variables, input.mirrored ?? false, args);
    return metric.dryRun === true ? { ...check, dryRun: true } : check;
  }).filter((check) => input.stableIdle !== true || check.kind !== 'judge');
  if (analysis.maxErrorRateIncrease !== undefined && input.stableIdle !== true) {
    const comparison: ComparisonCheck = {
      kind: 'comparison',
      name: ERROR_RATE_INCREASE_CHECK,
      canaryQuery: errorRateQuery(canary, input.mirrored),
      stableQuery: errorRateQuery(stable),
      maxIncrease: analysis.maxErrorRateIncrease,
      unit: '%',
    };
    checks.push(comparison);
  }
  return {
    namespace,
    rolloutName: input.rolloutName,
    canaryRevision: input.canaryRevision,
    stepIndex: input.stepIndex,
    minRequests: analysis.minRequests,
    requestCountQuery: requestCountQuery(canary, input.mirrored),
    checks,
    ...(input.prometheusAddress === undefined ? {} : { prometheusAddress: input.prometheusAddress }),
  };
}
