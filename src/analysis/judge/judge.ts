// The statistical judge's verdict on one round: canary against stable over the same window. Like
// every check, only a finite measure on enough requests can pass; a failed query is an error, too
// few requests on either side is inconclusive, and the message gives the counts, the statistic and
// the p-value next to the significance, so that a person sees why.
import type { JudgeCheck, MetricResult, QueryOutcome } from '../types.ts';
import { formatValue } from '../verdict.ts';
import { bucketCounts, bucketedMannWhitney, twoProportionTest } from './statistics.ts';

export type LabelledOutcome = Map<string, number> | Error;

export const DEFAULT_SIGNIFICANCE = 0.05;
export const DEFAULT_MIN_SAMPLES = 200;

function count(value: QueryOutcome): number | Error {
  if (value instanceof Error) return value;
  return value === undefined || !Number.isFinite(value) ? 0 : Math.round(value);
}

function verdictOf(check: JudgeCheck, p: number): 'pass' | 'fail' {
  return p < check.significance ? 'fail' : 'pass';
}

function base(check: JudgeCheck, at: string) {
  return { name: check.name, at, limit: check.significance };
}

function tooFew(check: JudgeCheck, at: string, canary: number, stable: number): MetricResult | undefined {
  if (canary >= check.minSamples && stable >= check.minSamples) return undefined;
  return {
    ...base(check, at), verdict: 'inconclusive',
    message: `${canary} canary and ${stable} stable requests in the window, fewer than minSamples ${check.minSamples} on a side: too few to compare`,
  };
}

/** ErrorRate: `outcomes` are the canary's total and failed, then stable's total and failed. */
export function judgeErrorRate(check: JudgeCheck, outcomes: readonly [QueryOutcome, QueryOutcome, QueryOutcome, QueryOutcome], at: string): MetricResult {
  const counts = outcomes.map(count);
  const failed = counts.find((value): value is Error => value instanceof Error);
  if (failed !== undefined) return { ...base(check, at), verdict: 'error', message: `a count query failed: ${failed.message}` };
  const [canaryTotal, canaryFailed, stableTotal, stableFailed] = counts as number[] as [number, number, number, number];
  const few = tooFew(check, at, canaryTotal, stableTotal);
  if (few !== undefined) return few;
  const { z, p } = twoProportionTest(canaryFailed, canaryTotal, stableFailed, stableTotal);
  const rate = (failures: number, total: number) => `${formatValue((100 * failures) / total, '%')} (${failures}/${total})`;
  const verdict = verdictOf(check, p);
  const finding = verdict === 'fail' ? 'the canary fails more often than stable' : 'no evidence that the canary fails more often';
  return {
    ...base(check, at), verdict, value: p,
    message: `canary ${rate(canaryFailed, canaryTotal)} vs stable ${rate(stableFailed, stableTotal)}: two-proportion z = ${formatValue(z)}, ` +
      `p = ${formatValue(p)} ${verdict === 'fail' ? '<' : '>='} significance ${check.significance}: ${finding}`,
  };
}

/** Latency: the canary's and stable's cumulative histogram buckets by `le`. */
export function judgeLatency(check: JudgeCheck, canaryBuckets: LabelledOutcome, stableBuckets: LabelledOutcome, at: string): MetricResult {
  const failed = [canaryBuckets, stableBuckets].find((value): value is Error => value instanceof Error);
  if (failed !== undefined) return { ...base(check, at), verdict: 'error', message: `a bucket query failed: ${failed.message}` };
  const canaryMap = canaryBuckets as Map<string, number>;
  const stableMap = stableBuckets as Map<string, number>;
  // Both sides on the same bounds, a bound missing on one side holding its cumulative count there.
  const bounds = bucketCounts(new Map([...canaryMap, ...stableMap].map(([bound]) => [bound, 0]))).bounds;
  const aligned = (buckets: Map<string, number>) => {
    let last = 0;
    return bucketCounts(new Map(bounds.map((bound) => [bound, (last = buckets.get(bound) ?? last)]))).counts;
  };
  const canary = aligned(canaryMap);
  const stable = aligned(stableMap);
  const sum = (values: number[]) => Math.round(values.reduce((total, value) => total + value, 0));
  const few = tooFew(check, at, sum(canary), sum(stable));
  if (few !== undefined) return few;
  const { z, p } = bucketedMannWhitney(canary, stable);
  const verdict = verdictOf(check, p);
  const finding = verdict === 'fail' ? "the canary's requests take longer than stable's" : "no evidence that the canary's requests take longer";
  return {
    ...base(check, at), verdict, value: p,
    message: `${sum(canary)} canary and ${sum(stable)} stable requests over ${bounds.length} buckets: Mann-Whitney z = ${formatValue(z)}, ` +
      `p = ${formatValue(p)} ${verdict === 'fail' ? '<' : '>='} significance ${check.significance}: ${finding}`,
  };
}
