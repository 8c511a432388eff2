// Pure judgement of raw query results. The rule that runs through all of it: only a finite number,
// measured on enough requests, inside its limits, is a pass. Errors, empty results and NaN are
// never a pass (nor a failure: the canary is not to blame for a broken Prometheus).
import type { CheckVerdict, ComparisonCheck, MetricResult, QueryOutcome, ThresholdCheck } from './types.ts';

/** The canary's request count in the window, which every check needs as evidence. */
export interface Evidence {
  requests: QueryOutcome;
  minRequests: number;
}

export function formatValue(value: number, unit = ''): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? '+Inf' : '-Inf';
  return `${Number(value.toPrecision(4))}${unit}`;
}

function result(name: string, at: string, verdict: CheckVerdict, message: string, value?: number, limit?: number): MetricResult {
  const finite = value !== undefined && Number.isFinite(value) ? value : undefined;
  return {
    name,
    verdict,
    ...(finite === undefined ? {} : { value: finite }),
    ...(limit === undefined ? {} : { limit }),
    at,
    message,
  };
}

type Problem = { verdict: CheckVerdict; message: string } | undefined;

/** Why the evidence cannot support a verdict, or undefined when it can. */
function evidenceProblem(evidence: Evidence): Problem {
  const { requests, minRequests } = evidence;
  if (requests instanceof Error) return { verdict: 'error', message: `request count query failed: ${requests.message}` };
  const count = requests === undefined || Number.isNaN(requests) ? 0 : requests;
  if (count < minRequests) {
    return {
      verdict: 'inconclusive',
      message: `only ${formatValue(count)} canary requests in the window, fewer than minRequests ${minRequests}: not enough traffic to judge`,
    };
  }
  return undefined;
}

function queryError(label: string, value: QueryOutcome): Problem {
  return value instanceof Error ? { verdict: 'error', message: `${label} query failed: ${value.message}` } : undefined;
}

/** Why a successful query gave nothing to compare, or undefined when it gave a number. */
function missingValue(label: string, value: QueryOutcome): Problem {
  if (value === undefined) return { verdict: 'inconclusive', message: `${label} query returned no data` };
  if (Number.isNaN(value)) return { verdict: 'inconclusive', message: `${label} query returned NaN (no samples to compute it from)` };
  return undefined;
}

export function judgeThreshold(check: ThresholdCheck, value: QueryOutcome, evidence: Evidence, at: string): MetricResult {
  const limit = check.max ?? check.min;
  // Errors first (the most useful thing to show), then too little traffic (which explains an
  // empty or NaN value better than the value itself does).
  const problem = queryError(check.name, value) ?? evidenceProblem(evidence) ?? missingValue(check.name, value);
  if (problem !== undefined || typeof value !== 'number') {
    const { verdict, message } = problem ?? { verdict: 'inconclusive' as const, message: `${check.name}: no value` };
    return result(check.name, at, verdict, `${check.name}: ${message}`, undefined, limit);
  }
  const shown = formatValue(value, check.unit);
  if (check.max !== undefined && !(value <= check.max)) {
    return result(check.name, at, 'fail', `${check.name} ${shown} is above max ${formatValue(check.max, check.unit)}`, value, check.max);
  }
  if (check.min !== undefined && !(value >= check.min)) {
    return result(check.name, at, 'fail', `${check.name} ${shown} is below min ${formatValue(check.min, check.unit)}`, value, check.min);
  }
  if (!Number.isFinite(value)) {
    // +Inf above a max fails (histogram_quantile's answer when latency exceeds every bucket),
    // but an infinite value is never evidence that the canary is within its limits.
    return result(check.name, at, 'inconclusive', `${check.name}: query returned ${shown}, which cannot pass`, undefined, limit);
  }
  const bounds = [
    check.min === undefined ? undefined : `min ${formatValue(check.min, check.unit)}`,
    check.max === undefined ? undefined : `max ${formatValue(check.max, check.unit)}`,
  ].filter((bound) => bound !== undefined);
  return result(check.name, at, 'pass', `${check.name} ${shown} is within ${bounds.join(' and ')}`, value, limit);
}

/** Canary error rate against stable's plus the allowed margin (percentage points). */
export function judgeComparison(
  check: ComparisonCheck,
  canary: QueryOutcome,
  stable: QueryOutcome,
  evidence: Evidence,
  at: string,
): MetricResult {
  const problem =
    queryError('canary error rate', canary) ??
    queryError('stable error rate', stable) ??
    evidenceProblem(evidence) ??
    missingValue('canary error rate', canary) ??
    missingValue('stable error rate', stable);
  if (problem !== undefined || typeof canary !== 'number' || typeof stable !== 'number') {
    const { verdict, message } = problem ?? { verdict: 'inconclusive' as const, message: 'no value' };
    return result(check.name, at, verdict, `${check.name}: ${message}`);
  }
  const limit = stable + check.maxIncrease;
  const increase = canary - stable;
  const detail =
    `canary ${formatValue(canary, check.unit)} vs stable ${formatValue(stable, check.unit)}: ` +
    `${formatValue(increase)} points, allowed ${formatValue(check.maxIncrease)}`;
  const verdict: CheckVerdict = increase <= check.maxIncrease ? 'pass' : 'fail';
  return result(check.name, at, verdict, `${check.name} ${detail}`, canary, Number.isFinite(limit) ? limit : undefined);
}

/** A round fails if any check fails; otherwise any error, then any inconclusive check, holds it back. */
export function roundVerdict(all: readonly MetricResult[]): CheckVerdict {
  const checks = all.filter((check) => check.dryRun !== true);
  // Only dry-run metrics: nothing is judged, as with no analysis at all.
  if (checks.length === 0 && all.length > 0) return 'pass';
  const verdicts = new Set(checks.map((check) => check.verdict));
  if (verdicts.has('fail')) return 'fail';
  if (verdicts.has('error')) return 'error';
  if (verdicts.has('inconclusive') || checks.length === 0) return 'inconclusive';
  return 'pass';
}
