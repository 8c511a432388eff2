// Checks the CRD's schema and CEL rules also make, repeated here so that the pure core never acts
// on a spec the API server would refuse (an older CRD, a test fixture), plus what CEL cannot
// check: custom query templates. Each message names the field and what to do.
import { AnalysisConfigError, BUILTIN_METRICS, buildAnalysisPlan } from '../analysis/queries.ts';
import { MIN_ANALYSIS_INTERVAL_MS, type ResolvedSpec } from './defaults.ts';
import { deploymentName } from './deployments/deployments.ts';
import { parseDuration } from './durations.ts';
import { TRACK_LABEL, type Rollout, type RolloutStep } from './types.ts';

function stepProblems(steps: readonly RolloutStep[]): string[] {
  if (steps.length === 0) return ['spec.steps is empty: add at least one step (setWeight or pause)'];
  return steps.flatMap((step, index) => {
    const at = `spec.steps[${index}]`;
    const hasWeight = step.setWeight !== undefined;
    const hasPause = step.pause !== undefined;
    if (hasWeight === hasPause) return [`${at} must set exactly one of setWeight or pause`];
    if (hasWeight && !(Number.isInteger(step.setWeight) && step.setWeight >= 0 && step.setWeight <= 100)) {
      return [`${at}.setWeight is ${step.setWeight}: use a whole number from 0 to 100`];
    }
    const duration = step.pause?.duration;
    if (duration !== undefined && parseDuration(duration) === undefined) {
      return [`${at}.pause.duration "${duration}" is not a duration: write e.g. 30s, 2m, 1h or 1h30m`];
    }
    return [];
  });
}

function selectorProblems(spec: ResolvedSpec): string[] {
  const selector = spec.selector?.matchLabels ?? {};
  const labels = spec.template?.metadata?.labels ?? {};
  const problems: string[] = [];
  if (Object.keys(selector).length === 0) problems.push('spec.selector.matchLabels is empty: select the pods by at least one label');
  for (const [key, value] of Object.entries(selector)) {
    if (labels[key] !== value) {
      problems.push(`spec.selector.matchLabels ${key}=${value} is not among spec.template.metadata.labels: add it there`);
    }
  }
  if (TRACK_LABEL in labels || TRACK_LABEL in selector) {
    problems.push(`label ${TRACK_LABEL} is set by the controller: remove it from spec.selector and spec.template`);
  }
  return problems;
}

function analysisProblems(rollout: Rollout, spec: ResolvedSpec): string[] {
  const { analysis } = spec;
  if (analysis === undefined) return [];
  const problems: string[] = [];
  const interval = parseDuration(analysis.interval);
  if (interval === undefined || interval < MIN_ANALYSIS_INTERVAL_MS) {
    problems.push(`spec.analysis.interval "${analysis.interval}" must be a duration of at least 5s, e.g. 30s or 1m`);
  }
  if (analysis.metrics.length === 0) problems.push('spec.analysis.metrics is empty: add error-rate, latency-p99 or a custom metric');
  for (const metric of analysis.metrics) {
    if (metric.name === 'error-rate' && metric.maxErrorRatePercent === undefined) {
      problems.push('spec.analysis.metrics error-rate needs maxErrorRatePercent');
    }
    if (metric.name === 'latency-p99' && metric.maxLatencyMs === undefined) {
      problems.push('spec.analysis.metrics latency-p99 needs maxLatencyMs');
    }
    if (BUILTIN_METRICS.includes(metric.name) && metric.query !== undefined) {
      problems.push(`spec.analysis.metrics ${metric.name} is built in and takes no query: rename the metric to use your own`);
    }
  }
  try {
    const { name, namespace } = rollout.metadata;
    buildAnalysisPlan({
      namespace,
      rolloutName: name,
      canaryWorkload: deploymentName(name, 'canary'),
      stableWorkload: deploymentName(name, 'stable'),
      canaryRevision: '',
      stepIndex: 0,
      analysis,
      ...(analysis.prometheus === undefined ? {} : { prometheusAddress: analysis.prometheus.address }),
    });
  } catch (error) {
    if (!(error instanceof AnalysisConfigError)) throw error;
    problems.push(`spec.analysis: ${error.message}`);
  }
  return problems;
}

/** Every problem found, each a full sentence; empty when the spec is usable. */
export function validateRollout(rollout: Rollout, spec: ResolvedSpec): string[] {
  const problems = [...selectorProblems(spec), ...stepProblems(spec.steps)];
  const { stableSubset, canarySubset } = spec.trafficRouting.destinationRule;
  if (stableSubset === canarySubset) {
    problems.push(`spec.trafficRouting.destinationRule: stableSubset and canarySubset are both "${stableSubset}": name two different subsets`);
  }
  if (!Number.isInteger(spec.replicas) || spec.replicas < 0) problems.push(`spec.replicas ${spec.replicas} must be a whole number >= 0`);
  return [...problems, ...analysisProblems(rollout, spec)];
}
