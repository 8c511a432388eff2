import { describe, expect, it } from 'vitest';
import type { ComparisonCheck, QueryOutcome, ThresholdCheck } from '../../../src/analysis/types.ts';
import { judgeComparison, judgeThreshold, roundVerdict, type Evidence } from '../../../src/analysis/verdict.ts';
import type { CheckVerdict, MetricResult } from '../../../src/rollout/types.ts';

const AT = '2025-01-01T00:01:00.000Z';
const errorRate: ThresholdCheck = { kind: 'threshold', name: 'error-rate', query: 'q', max: 1, unit: '%' };
const throughput: ThresholdCheck = { kind: 'threshold', name: 'throughput', query: 'q', min: 10, unit: '' };
const enough: Evidence = { requests: 500, minRequests: 20 };

describe('threshold verdicts', () => {
  const cases: { name: string; check?: ThresholdCheck; value: QueryOutcome; evidence?: Evidence; verdict: CheckVerdict; message: string }[] = [
    { name: 'below max passes', value: 0.4, verdict: 'pass', message: 'error-rate 0.4% is within max 1%' },
    { name: 'equal to max passes', value: 1, verdict: 'pass', message: 'error-rate 1% is within max 1%' },
    { name: 'above max fails', value: 7.25, verdict: 'fail', message: 'error-rate 7.25% is above max 1%' },
    { name: '+Inf fails a max', value: Number.POSITIVE_INFINITY, verdict: 'fail', message: 'error-rate +Inf is above max 1%' },
    { name: '-Inf under a max is not a pass', value: Number.NEGATIVE_INFINITY, verdict: 'inconclusive', message: 'error-rate: query returned -Inf, which cannot pass' },
    { name: 'below min fails', check: throughput, value: 3, verdict: 'fail', message: 'throughput 3 is below min 10' },
    { name: 'NaN is inconclusive', value: Number.NaN, verdict: 'inconclusive', message: 'error-rate: error-rate query returned NaN (no samples to compute it from)' },
    { name: 'empty is inconclusive', value: undefined, verdict: 'inconclusive', message: 'error-rate: error-rate query returned no data' },
    { name: 'a query error is an error', value: new Error('HTTP 503'), verdict: 'error', message: 'error-rate: error-rate query failed: HTTP 503' },
    {
      name: 'too few requests is inconclusive, even for a bad value',
      value: 50,
      evidence: { requests: 12, minRequests: 20 },
      verdict: 'inconclusive',
      message: 'error-rate: only 12 canary requests in the window, fewer than minRequests 20: not enough traffic to judge',
    },
    {
      name: 'no requests at all (empty count) is inconclusive and explains the NaN',
      value: Number.NaN,
      evidence: { requests: undefined, minRequests: 20 },
      verdict: 'inconclusive',
      message: 'error-rate: only 0 canary requests in the window, fewer than minRequests 20: not enough traffic to judge',
    },
    {
      name: 'a failing request count is an error',
      value: 0.1,
      evidence: { requests: new Error('timeout'), minRequests: 20 },
      verdict: 'error',
      message: 'error-rate: request count query failed: timeout',
    },
  ];
  it.each(cases)('$name', ({ check, value, evidence, verdict, message }) => {
    const result = judgeThreshold(check ?? errorRate, value, evidence ?? enough, AT);
    expect(result).toMatchObject({ name: (check ?? errorRate).name, verdict, message, at: AT });
  });

  it('records only finite values', () => {
    expect(judgeThreshold(errorRate, 0.4, enough, AT)).toMatchObject({ value: 0.4, limit: 1 });
    expect(judgeThreshold(errorRate, Number.NaN, enough, AT)).not.toHaveProperty('value');
    expect(judgeThreshold(errorRate, Number.POSITIVE_INFINITY, enough, AT)).not.toHaveProperty('value');
  });
});

describe('comparison with stable', () => {
  const increase: ComparisonCheck = { kind: 'comparison', name: 'error-rate-increase', canaryQuery: 'c', stableQuery: 's', maxIncrease: 1, unit: '%' };
  it.each([
    { name: 'canary a little worse than a noisy stable passes', canary: 3.2, stable: 2.5, verdict: 'pass' },
    { name: 'canary worse by more than the margin fails', canary: 4, stable: 0.5, verdict: 'fail' },
    { name: 'stable without data is inconclusive', canary: 0.1, stable: undefined, verdict: 'inconclusive' },
    { name: 'stable query error is an error', canary: 0.1, stable: new Error('bad_data'), verdict: 'error' },
    { name: 'canary NaN is inconclusive', canary: Number.NaN, stable: 0.1, verdict: 'inconclusive' },
  ] as { name: string; canary: QueryOutcome; stable: QueryOutcome; verdict: CheckVerdict }[])('$name', ({ canary, stable, verdict }) => {
    expect(judgeComparison(increase, canary, stable, enough, AT).verdict).toBe(verdict);
  });

  it('says both rates and the margin', () => {
    expect(judgeComparison(increase, 4, 0.5, enough, AT)).toMatchObject({
      value: 4,
      limit: 1.5,
      message: 'error-rate-increase canary 4% vs stable 0.5%: 3.5 points, allowed 1',
    });
  });

  it('too few requests is inconclusive', () => {
    expect(judgeComparison(increase, 4, 0.5, { requests: 3, minRequests: 20 }, AT).verdict).toBe('inconclusive');
  });
});

describe('round verdict', () => {
  const checks = (...verdicts: CheckVerdict[]): MetricResult[] => verdicts.map((verdict, i) => ({ name: `m${i}`, verdict, at: AT, message: '' }));
  it.each([
    [['pass', 'pass'], 'pass'],
    [['pass', 'fail', 'error'], 'fail'],
    [['pass', 'error', 'inconclusive'], 'error'],
    [['pass', 'inconclusive'], 'inconclusive'],
    [[], 'inconclusive'],
  ] as [CheckVerdict[], CheckVerdict][])('%j → %s', (verdicts, expected) => {
    expect(roundVerdict(checks(...verdicts))).toBe(expected);
  });
});
