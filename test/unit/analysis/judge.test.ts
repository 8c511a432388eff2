// The statistical judge: its two tests against exact computations and known values, its false
// alarms on identical traffic (no more often than the significance level), its power on the
// differences the docs promise to catch, and the verdicts and messages of a round.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { judgeErrorRate, judgeLatency } from '../../../src/analysis/judge/judge.ts';
import { bucketCounts, bucketedMannWhitney, twoProportionTest } from '../../../src/analysis/judge/statistics.ts';
import { buildAnalysisPlan } from '../../../src/analysis/queries.ts';
import { resultByLabel } from '../../../src/analysis/prometheus.ts';
import { resolveAnalysis } from '../../../src/rollout/defaults.ts';
import type { JudgeCheck } from '../../../src/analysis/types.ts';

/** mulberry32: a seeded generator, so that the simulated rates are the same on every run. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const binomial = (random: () => number, n: number, p: number) => Array.from({ length: n }).filter(() => random() < p).length;

/** Draws n requests into buckets with the given probabilities (summing to 1). */
function histogram(random: () => number, n: number, shares: readonly number[]): number[] {
  const counts = shares.map(() => 0);
  for (let i = 0; i < n; i += 1) {
    let pick = random();
    const bucket = shares.findIndex((share) => (pick -= share) < 0);
    counts[bucket === -1 ? shares.length - 1 : bucket]! += 1;
  }
  return counts;
}

/** U of canary over stable on the raw tied samples: pairs where the canary is slower, ties halved. */
function exactU(canary: readonly number[], stable: readonly number[]): number {
  let u = 0;
  canary.forEach((c, i) => stable.forEach((s, j) => { u += c * s * (i > j ? 1 : i === j ? 0.5 : 0); }));
  return u;
}

const ALPHA = 0.05;
const SHARES = [0.1, 0.3, 0.3, 0.2, 0.07, 0.03];
const SLOWER = [0.05, 0.2, 0.3, 0.25, 0.13, 0.07];

describe('twoProportionTest', () => {
  it('gives the textbook z and one-sided p for 15/500 against 5/500', () => {
    const { z, p } = twoProportionTest(15, 500, 5, 500);
    expect(z).toBeCloseTo(2.259, 3);
    expect(p).toBeCloseTo(0.0119, 3);
  });

  it('is one-sided: a canary that fails less is never a finding', () => {
    expect(twoProportionTest(5, 500, 15, 500).p).toBeGreaterThan(0.98);
    expect(twoProportionTest(0, 500, 0, 500)).toEqual({ z: 0, p: 0.5 });
  });
});

describe('bucketedMannWhitney', () => {
  it('computes the U of the tied samples exactly', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.nat(20), fc.nat(20)), { minLength: 1, maxLength: 8 }), (pairs) => {
      const canary = pairs.map(([c]) => c);
      const stable = pairs.map(([, s]) => s);
      expect(bucketedMannWhitney(canary, stable).u).toBeCloseTo(exactU(canary, stable), 6);
    }));
  });

  it('is one-sided and symmetric: the same shift the other way gives 1 - p', () => {
    const random = seeded(7);
    const slow = histogram(random, 400, SLOWER);
    const usual = histogram(random, 400, SHARES);
    const forward = bucketedMannWhitney(slow, usual);
    expect(forward.p).toBeLessThan(ALPHA);
    expect(bucketedMannWhitney(usual, slow).p).toBeCloseTo(1 - forward.p, 9);
  });

  it('turns cumulative le buckets into counts in bound order', () => {
    expect(bucketCounts(new Map([['+Inf', 10], ['5', 4], ['10', 9], ['1', 1]]))).toEqual({ bounds: ['1', '5', '10', '+Inf'], counts: [1, 3, 5, 1] });
  });
});

describe('false alarms and power on simulated traffic', () => {
  const ROUNDS = 2_000;

  it('ErrorRate: identical 1% failure rates at 500 per side are flagged no more often than the significance level', () => {
    const random = seeded(1);
    let alarms = 0;
    for (let round = 0; round < ROUNDS; round += 1) {
      if (twoProportionTest(binomial(random, 500, 0.01), 500, binomial(random, 500, 0.01), 500).p < ALPHA) alarms += 1;
    }
    expect(alarms / ROUNDS).toBeLessThanOrEqual(ALPHA + 0.01);
  });

  it('ErrorRate: catches a 2-point increase at 500 requests per side (0% to 2% nearly always, 1% to 3% in most rounds)', () => {
    const random = seeded(2);
    const power = (stable: number, canary: number) => {
      let caught = 0;
      for (let round = 0; round < ROUNDS; round += 1) {
        if (twoProportionTest(binomial(random, 500, canary), 500, binomial(random, 500, stable), 500).p < ALPHA) caught += 1;
      }
      return caught / ROUNDS;
    };
    expect(power(0, 0.02)).toBeGreaterThan(0.95);
    expect(power(0.01, 0.03)).toBeGreaterThan(0.7);
  });

  it('Latency: identical histograms are flagged no more often than the significance level, a slower canary nearly always', () => {
    const random = seeded(3);
    let alarms = 0;
    let caught = 0;
    for (let round = 0; round < ROUNDS; round += 1) {
      if (bucketedMannWhitney(histogram(random, 300, SHARES), histogram(random, 300, SHARES)).p < ALPHA) alarms += 1;
      if (bucketedMannWhitney(histogram(random, 300, SLOWER), histogram(random, 300, SHARES)).p < ALPHA) caught += 1;
    }
    expect(alarms / ROUNDS).toBeLessThanOrEqual(ALPHA + 0.01);
    expect(caught / ROUNDS).toBeGreaterThan(0.95);
  });
});

describe('a round of the judge', () => {
  const errors: JudgeCheck = { kind: 'judge', name: 'errors-vs-stable', significance: 0.05, minSamples: 200, test: 'ErrorRate', canaryTotal: 'ct', canaryFailed: 'cf', stableTotal: 'st', stableFailed: 'sf' };
  const latency: JudgeCheck = { kind: 'judge', name: 'latency-vs-stable', significance: 0.01, minSamples: 200, test: 'Latency', canaryBuckets: 'cb', stableBuckets: 'sb' };
  const at = '2026-12-02T00:00:00.000Z';

  it('fails with the counts, the statistic and the p-value in its message', () => {
    const result = judgeErrorRate(errors, [500, 15, 500, 5], at);
    expect(result).toMatchObject({ verdict: 'fail', limit: 0.05 });
    expect(result.value).toBeCloseTo(0.0119, 3);
    expect(result.message).toBe('canary 3% (15/500) vs stable 1% (5/500): two-proportion z = 2.259, p = 0.01195 < significance 0.05: the canary fails more often than stable');
  });

  it('is inconclusive below minSamples on either side, an error when a query fails, and no failure series reads as none', () => {
    expect(judgeErrorRate(errors, [500, 0, 150, 0], at)).toMatchObject({ verdict: 'inconclusive' });
    expect(judgeErrorRate(errors, [500, new Error('timeout'), 500, 0], at)).toMatchObject({ verdict: 'error', message: 'a count query failed: timeout' });
    expect(judgeErrorRate(errors, [500, undefined, 500, undefined], at)).toMatchObject({ verdict: 'pass' });
  });

  it('aligns the two histograms on their bounds', () => {
    const cumulative = (counts: number[], bounds: string[]) => new Map(bounds.map((bound, i) => [bound, counts.slice(0, i + 1).reduce((a, b) => a + b, 0)]));
    const slow = cumulative([20, 80, 120, 100, 50, 30], ['5', '10', '25', '50', '100', '+Inf']);
    const usual = cumulative([40, 120, 120, 80, 30, 10], ['5', '10', '25', '50', '100', '+Inf']);
    expect(judgeLatency(latency, slow, usual, at)).toMatchObject({ verdict: 'fail' });
    expect(judgeLatency(latency, usual, usual, at)).toMatchObject({ verdict: 'pass' });
    // A bound missing on one side (no sample ever reached it) holds that side's count there.
    usual.delete('100');
    expect(judgeLatency(latency, slow, usual, at).verdict).toBe('fail');
  });

  it('reads histogram buckets from Prometheus by le, and refuses two series for one bucket', () => {
    const data = { resultType: 'vector', result: [{ metric: { le: '5' }, value: [0, '3'] }, { metric: { le: '+Inf' }, value: [0, '7'] }] };
    expect(resultByLabel(data, 'q', 'le')).toEqual(new Map([['5', 3], ['+Inf', 7]]));
    expect(() => resultByLabel({ resultType: 'vector', result: [{ metric: { le: '5' }, value: [0, '1'] }, { metric: { le: '5' }, value: [0, '2'] }] }, 'q', 'le'))
      .toThrow(/one series per le/);
  });
});

describe('the judge in an analysis plan', () => {
  const plan = (mirrored: boolean) => buildAnalysisPlan({
    namespace: 'shop', rolloutName: 'payments', canaryWorkload: 'payments-canary', stableWorkload: 'payments-stable', canaryRevision: 'r', stepIndex: 0,
    analysis: resolveAnalysis({ interval: '1m', metrics: [{ name: 'errors-vs-stable', judge: { test: 'ErrorRate' } }, { name: 'latency-vs-stable', judge: { test: 'Latency', significance: 0.01 } }] })!,
    serviceHost: 'payments', mirrored,
  });

  it('counts both sides from the workloads\' own proxies, by le for latency, with the defaults', () => {
    const [errorsCheck, latencyCheck] = plan(false).checks as JudgeCheck[];
    expect(errorsCheck).toMatchObject({ kind: 'judge', test: 'ErrorRate', significance: 0.05, minSamples: 200 });
    expect(errorsCheck?.test === 'ErrorRate' && errorsCheck.stableTotal).toBe(
      'sum(increase(istio_requests_total{reporter="destination",destination_workload_namespace="shop",destination_workload="payments-stable"}[1m]))');
    expect(latencyCheck?.test === 'Latency' && latencyCheck.canaryBuckets).toBe(
      'sum by (le) (increase(istio_request_duration_milliseconds_bucket{reporter="destination",destination_workload_namespace="shop",destination_workload="payments-canary"}[1m]))');
  });

  it('reads the callers\' proxies while a mirror route adds copies', () => {
    const [errorsCheck] = plan(true).checks as JudgeCheck[];
    expect(errorsCheck?.test === 'ErrorRate' && errorsCheck.canaryFailed).toContain('reporter="source"');
  });

  it('refuses a judge with limits of its own, or on a built-in name', () => {
    const withLimits = () => buildAnalysisPlan({
      namespace: 'shop', rolloutName: 'payments', canaryWorkload: 'c', stableWorkload: 's', canaryRevision: 'r', stepIndex: 0,
      analysis: resolveAnalysis({ metrics: [{ name: 'x', judge: { test: 'ErrorRate' }, max: 1 }] })!,
    });
    expect(withLimits).toThrow(/takes no query, max, min/);
  });
});
