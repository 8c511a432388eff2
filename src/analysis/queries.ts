// PromQL for the analysis: built-in Istio queries and templated custom queries.
// Istio's standard metrics carry destination_workload = the Deployment's name, which is why the
// controller runs the canary as its own Deployment (<name>-canary): the canary's series are
// exact. reporter="destination" counts each request once, at the server-side proxy.
import type { ResolvedAnalysis } from '../rollout/defaults.ts';
import type { AnalysisMetric } from '../rollout/types.ts';
import type { AnalysisPlan, ComparisonCheck, PlannedCheck, ThresholdCheck } from './types.ts';

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
}

function istioLabels({ namespace, workload }: WorkloadWindow, extra = ''): string {
  return `{reporter="destination",destination_workload_namespace="${namespace}",destination_workload="${workload}"${extra}}`;
}

/**
 * 5xx share in percent. The numerator falls back to 0 (`or vector(0)`) because a workload that
 * never answered 5xx has no 5xx series at all, and an empty numerator would make the healthiest
 * canary's result empty, i.e. never a pass. The denominator has no fallback: no traffic stays
 * empty (0/0 would be NaN): inconclusive either way, as it must be.
 */
export function errorRateQuery(target: WorkloadWindow): string {
  const errors = `sum(rate(istio_requests_total${istioLabels(target, ',response_code=~"5.."')}[${target.window}]))`;
  const all = `sum(rate(istio_requests_total${istioLabels(target)}[${target.window}]))`;
  return `100 * (${errors} or vector(0)) / ${all}`;
}

/** Requests in the window: the evidence behind the other checks (minRequests). */
export function requestCountQuery(target: WorkloadWindow): string {
  return `sum(increase(istio_requests_total${istioLabels(target)}[${target.window}]))`;
}

export function latencyP99Query(target: WorkloadWindow): string {
  return `histogram_quantile(0.99, sum by (le) (rate(istio_request_duration_milliseconds_bucket${istioLabels(target)}[${target.window}])))`;
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

/** Replaces `{{ variable }}`; an unknown variable is an error, never silently left in the query. */
export function renderQueryTemplate(metricName: string, template: string, variables: TemplateVariables): string {
  return template.replace(PLACEHOLDER, (_placeholder, word: string) => {
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
}

function plannedMetric(metric: AnalysisMetric, canary: WorkloadWindow, variables: TemplateVariables): ThresholdCheck {
  if (metric.name === ERROR_RATE_METRIC) {
    return { kind: 'threshold', name: metric.name, query: errorRateQuery(canary), max: metric.maxErrorRatePercent, unit: '%' };
  }
  if (metric.name === LATENCY_P99_METRIC) {
    return { kind: 'threshold', name: metric.name, query: latencyP99Query(canary), max: metric.maxLatencyMs, unit: 'ms' };
  }
  if (metric.query === undefined || (metric.max === undefined && metric.min === undefined)) {
    throw new AnalysisConfigError(
      `metric ${metric.name}: a custom metric needs a query and max or min (built-in metrics are ${BUILTIN_METRICS.join(', ')})`,
    );
  }
  const query = renderQueryTemplate(metric.name, metric.query, variables);
  return { kind: 'threshold', name: metric.name, query, max: metric.max, min: metric.min, unit: '' };
}

/** Renders every query of one round. Throws AnalysisConfigError for a spec it cannot render. */
export function buildAnalysisPlan(input: PlanInput): AnalysisPlan {
  const { analysis, namespace } = input;
  const canary = { namespace, workload: input.canaryWorkload, window: analysis.interval };
  const stable = { namespace, workload: input.stableWorkload, window: analysis.interval };
  const variables: TemplateVariables = {
    namespace,
    name: input.rolloutName,
    canary: input.canaryWorkload,
    stable: input.stableWorkload,
    interval: analysis.interval,
  };
  const checks: PlannedCheck[] = analysis.metrics.map((metric) => plannedMetric(metric, canary, variables));
  if (analysis.maxErrorRateIncrease !== undefined) {
    const comparison: ComparisonCheck = {
      kind: 'comparison',
      name: ERROR_RATE_INCREASE_CHECK,
      canaryQuery: errorRateQuery(canary),
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
    requestCountQuery: requestCountQuery(canary),
    checks,
  };
}
