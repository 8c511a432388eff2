import { describe, expect, it } from 'vitest';
import {
  AnalysisConfigError,
  buildAnalysisPlan,
  errorRateQuery,
  latencyP99Query,
  renderQueryTemplate,
  requestCountQuery,
  type PlanInput,
} from '../../../src/analysis/queries.ts';

const canary = { namespace: 'production', workload: 'payment-service-canary', window: '1m' };
const labels = '{reporter="destination",destination_workload_namespace="production",destination_workload="payment-service-canary"';

describe('built-in Istio queries', () => {
  it('error rate: 5xx share in percent, numerator 0 when there are no 5xx series', () => {
    expect(errorRateQuery(canary)).toBe(
      `100 * (sum(rate(istio_requests_total${labels},response_code=~"5.."}[1m])) or vector(0)) / sum(rate(istio_requests_total${labels}}[1m]))`,
    );
  });

  it('request count: requests in the window', () => {
    expect(requestCountQuery(canary)).toBe(`sum(increase(istio_requests_total${labels}}[1m]))`);
  });

  it('p99 latency from the duration histogram', () => {
    expect(latencyP99Query(canary)).toBe(
      `histogram_quantile(0.99, sum by (le) (rate(istio_request_duration_milliseconds_bucket${labels}}[1m])))`,
    );
  });
});

describe('custom query templates', () => {
  const variables = { namespace: 'production', name: 'payment-service', canary: 'payment-service-canary', stable: 'payment-service-stable', interval: '2m' };

  it('replaces every variable, with or without spaces', () => {
    expect(renderQueryTemplate('m', 'f{ns="{{namespace}}",w="{{ canary }}",s="{{  stable  }}",r="{{ name }}"}[{{ interval }}]', variables)).toBe(
      'f{ns="production",w="payment-service-canary",s="payment-service-stable",r="payment-service"}[2m]',
    );
  });

  it('an unknown variable is an error naming the metric, the variable and the known ones', () => {
    const render = () => renderQueryTemplate('saturation', 'max(cpu{pod=~"{{ pod }}"})', variables);
    expect(render).toThrow(AnalysisConfigError);
    expect(render).toThrow('metric saturation: unknown template variable {{ pod }} in query; use one of {{ namespace }}, {{ name }}, {{ canary }}, {{ stable }}, {{ interval }}');
  });
});

describe('analysis plan', () => {
  const input = (analysis: Partial<PlanInput['analysis']>): PlanInput => ({
    namespace: 'production',
    rolloutName: 'payment-service',
    canaryWorkload: 'payment-service-canary',
    stableWorkload: 'payment-service-stable',
    canaryRevision: 'abc',
    stepIndex: 2,
    analysis: { interval: '1m', failureLimit: 0, minRequests: 20, consecutiveErrorLimit: 4, inconclusiveLimit: 3, metrics: [], ...analysis },
  });

  it('renders built-in and custom metrics with their limits, stamped with revision and step', () => {
    const plan = buildAnalysisPlan(
      input({
        metrics: [
          { name: 'error-rate', maxErrorRatePercent: 1 },
          { name: 'latency-p99', maxLatencyMs: 500 },
          { name: 'queue-depth', query: 'max(queue{app="{{ name }}"})', min: 0, max: 10 },
        ],
      }),
    );
    expect(plan).toMatchObject({ canaryRevision: 'abc', stepIndex: 2, minRequests: 20, requestCountQuery: requestCountQuery(canary) });
    expect(plan.checks).toEqual([
      { kind: 'threshold', name: 'error-rate', query: errorRateQuery(canary), max: 1, unit: '%' },
      { kind: 'threshold', name: 'latency-p99', query: latencyP99Query(canary), max: 500, unit: 'ms' },
      { kind: 'threshold', name: 'queue-depth', query: 'max(queue{app="payment-service"})', max: 10, min: 0, unit: '' },
    ]);
  });

  it('maxErrorRateIncrease adds a comparison with the stable track', () => {
    const plan = buildAnalysisPlan(input({ metrics: [{ name: 'error-rate', maxErrorRatePercent: 5 }], maxErrorRateIncrease: 0.5 }));
    expect(plan.checks[1]).toEqual({
      kind: 'comparison',
      name: 'error-rate-increase',
      canaryQuery: errorRateQuery(canary),
      stableQuery: errorRateQuery({ ...canary, workload: 'payment-service-stable' }),
      maxIncrease: 0.5,
      unit: '%',
    });
  });

  it('a custom metric without limits is refused', () => {
    expect(() => buildAnalysisPlan(input({ metrics: [{ name: 'x', query: 'up' }] }))).toThrow(AnalysisConfigError);
  });
});
