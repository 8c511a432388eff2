import { describe, expect, it } from 'vitest';
import type { MetricsProvider } from '../../../src/analysis/provider.ts';
import { runAnalysis } from '../../../src/analysis/run.ts';
import type { AnalysisPlan } from '../../../src/analysis/types.ts';

const plan: AnalysisPlan = {
  namespace: 'production',
  rolloutName: 'payment-service',
  canaryRevision: 'abc',
  stepIndex: 1,
  minRequests: 20,
  requestCountQuery: 'requests',
  checks: [
    { kind: 'threshold', name: 'error-rate', query: 'errors', max: 1, unit: '%' },
    { kind: 'threshold', name: 'latency-p99', query: 'latency', max: 500, unit: 'ms' },
    { kind: 'comparison', name: 'error-rate-increase', canaryQuery: 'errors', stableQuery: 'stable-errors', maxIncrease: 1, unit: '%' },
  ],
};

function provider(answers: Record<string, number | undefined | Error>, vectors: Record<string, Map<string, number> | Error> = {}): MetricsProvider & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    async query(promql) {
      asked.push(promql);
      const answer = answers[promql];
      if (answer instanceof Error) throw answer;
      return answer;
    },
    async queryByLabel(promql) {
      asked.push(promql);
      const answer = vectors[promql] ?? new Map<string, number>();
      if (answer instanceof Error) throw answer;
      return answer;
    },
    async isOnline() {
      return true;
    },
  };
}

const clock = () => new Date('2025-01-01T00:02:00.000Z');

describe('analysis round', () => {
  it('a healthy canary passes every check; the round is stamped with revision, step and time', async () => {
    const metrics = provider({ requests: 300, errors: 0.2, latency: 120, 'stable-errors': 0.1 });
    const round = await runAnalysis(metrics, plan, clock);
    expect(round).toMatchObject({ canaryRevision: 'abc', stepIndex: 1, at: '2025-01-01T00:02:00.000Z', verdict: 'pass' });
    expect(round.checks.map((check) => check.verdict)).toEqual(['pass', 'pass', 'pass']);
    expect(metrics.asked.sort()).toEqual(['errors', 'errors', 'latency', 'requests', 'stable-errors']);
  });

  it('a round is stamped when its verdict is known, not when it started', async () => {
    let now = Date.parse('2025-01-01T00:02:00.000Z');
    // Each reading of the clock is 10 s later: a round as long as a smoke-test Job.
    const slow = () => new Date((now += 10_000) - 10_000);
    const round = await runAnalysis(provider({ requests: 300, errors: 0.2, latency: 120, 'stable-errors': 0.1 }), plan, slow);
    expect(round.at).toBe('2025-01-01T00:02:10.000Z');
    expect(round.checks.map((check) => check.at)).toEqual(['2025-01-01T00:02:00.000Z', '2025-01-01T00:02:00.000Z', '2025-01-01T00:02:00.000Z']);
  });

  it('one failing metric fails the round', async () => {
    const round = await runAnalysis(provider({ requests: 300, errors: 0.2, latency: 900, 'stable-errors': 0.1 }), plan, clock);
    expect(round.verdict).toBe('fail');
    expect(round.checks[1]).toMatchObject({ name: 'latency-p99', verdict: 'fail', value: 900, limit: 500 });
  });

  it('a dry-run metric is measured and recorded but does not judge the round', async () => {
    const dry: AnalysisPlan = { ...plan, checks: plan.checks.map((check) => (check.name === 'latency-p99' ? { ...check, dryRun: true } : check)) };
    const round = await runAnalysis(provider({ requests: 300, errors: 0.2, latency: 900, 'stable-errors': 0.1 }), dry, clock);
    expect(round.verdict).toBe('pass');
    expect(round.checks[1]).toMatchObject({ name: 'latency-p99', verdict: 'fail', dryRun: true, value: 900 });
    expect(round.checks[1]?.message).toMatch(/^dry run, not judged: /);
    // With only dry-run metrics nothing is judged, as with no analysis.
    const onlyDry: AnalysisPlan = { ...plan, checks: [{ kind: 'threshold', name: 'latency-p99', query: 'latency', max: 500, unit: 'ms', dryRun: true }] };
    expect((await runAnalysis(provider({ requests: 300, latency: 900 }), onlyDry, clock)).verdict).toBe('pass');
  });

  it('Prometheus failing never throws and never passes', async () => {
    const down = new Error('cannot reach Prometheus at http://prometheus:9090: ECONNREFUSED');
    const round = await runAnalysis(provider({ requests: down, errors: down, latency: down, 'stable-errors': down }), plan, clock);
    expect(round.verdict).toBe('error');
    expect(round.checks.every((check) => check.verdict === 'error')).toBe(true);
  });

  it('a provider throwing a non-Error is still an error check', async () => {
    const odd: MetricsProvider = { query: () => Promise.reject('boom'), queryByLabel: () => Promise.reject('boom'), isOnline: async () => false };
    expect((await runAnalysis(odd, plan, clock)).verdict).toBe('error');
  });

  it('too little traffic makes the round inconclusive', async () => {
    const round = await runAnalysis(provider({ requests: 5, errors: 0, latency: 10, 'stable-errors': 0 }), plan, clock);
    expect(round.verdict).toBe('inconclusive');
  });
});
