// The two tests of the statistical judge, on counts Prometheus already has: no raw samples are
// needed, which is what makes them cheap enough to run every round.
// - Failures: a one-sided two-proportion z-test (pooled), the large-sample test of "the canary
//   fails more often than stable" on request and failure counts.
// - Latency: a one-sided Mann–Whitney rank test on histogram buckets. Every request of one bucket
//   is a tie at that bucket's rank, so the test sees the order of buckets only (coarse where the
//   buckets are), and the variance carries the tie correction.
// Both use the normal approximation: the judge asks for a minimum sample size per side before it
// gives any verdict, which is where the approximation holds.
import { errorFunction } from 'simple-statistics';

/** P(Z > z) for a standard normal Z. */
export function normalUpperTail(z: number): number {
  return 0.5 * (1 - errorFunction(z / Math.SQRT2));
}

export interface TestOutcome {
  /** The test statistic (z). */
  z: number;
  /** One-sided: the probability of a difference at least this large in the canary's disfavour by chance. */
  p: number;
}

/** H1: the canary's failure rate is higher than stable's. */
export function twoProportionTest(canaryFailed: number, canaryTotal: number, stableFailed: number, stableTotal: number): TestOutcome {
  const pooled = (canaryFailed + stableFailed) / (canaryTotal + stableTotal);
  const variance = pooled * (1 - pooled) * (1 / canaryTotal + 1 / stableTotal);
  // Both sides without a single failure (or all failures): nothing tells them apart.
  if (variance === 0) return { z: 0, p: 0.5 };
  const z = (canaryFailed / canaryTotal - stableFailed / stableTotal) / Math.sqrt(variance);
  return { z, p: normalUpperTail(z) };
}

/**
 * H1: the canary's requests take longer than stable's. `canary[i]` and `stable[i]` are the
 * requests in bucket i (not cumulative), buckets in increasing order of their bound.
 */
export function bucketedMannWhitney(canary: readonly number[], stable: readonly number[]): TestOutcome & { u: number } {
  const n1 = canary.reduce((sum, count) => sum + count, 0);
  const n2 = stable.reduce((sum, count) => sum + count, 0);
  const n = n1 + n2;
  let below = 0;
  let rankSum = 0;
  let ties = 0;
  for (let bucket = 0; bucket < Math.max(canary.length, stable.length); bucket += 1) {
    const c = canary[bucket] ?? 0;
    const t = c + (stable[bucket] ?? 0);
    if (t === 0) continue;
    // Every request of the bucket takes the mean of the ranks the bucket spans.
    rankSum += c * (below + (t + 1) / 2);
    ties += t ** 3 - t;
    below += t;
  }
  const u = rankSum - (n1 * (n1 + 1)) / 2;
  const variance = ((n1 * n2) / 12) * (n + 1 - ties / (n * (n - 1)));
  if (!(variance > 0)) return { u, z: 0, p: 0.5 };
  const z = (u - (n1 * n2) / 2) / Math.sqrt(variance);
  return { u, z, p: normalUpperTail(z) };
}

/** Per-bucket counts from Prometheus' cumulative `le` buckets, sorted by bound (+Inf last). */
export function bucketCounts(cumulative: ReadonlyMap<string, number>): { bounds: string[]; counts: number[] } {
  const bounds = [...cumulative.keys()].sort((a, b) => Number(a === '+Inf' ? Infinity : a) - Number(b === '+Inf' ? Infinity : b));
  let previous = 0;
  const counts = bounds.map((bound) => {
    const total = cumulative.get(bound) ?? 0;
    // increase() over a window can wobble below the previous bucket by float error or a reset.
    const count = Math.max(0, total - previous);
    previous = Math.max(previous, total);
    return count;
  });
  return { bounds, counts };
}
