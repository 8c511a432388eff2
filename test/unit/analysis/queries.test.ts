import { describe, expect, it } from 'vitest';
import {
  AnalysisConfigError,
  buildAnalysisPlan,
  destinationServiceMatcher,
  errorRateQuery,
  latencyP99Query,
  renderQueryTemplate,
  requestCountQuery,
  type PlanInput,
} from '../../../src/analysis/queries.ts';

const canary = { namespace: 'production', workload: 'payment-service-canary', window: '1m' };
const at = (reporter: string) => `reporter="${reporter}",destination_workload_namespace="production",destination_workload="payment-service-canary"`;
const requests = (reporter: string, extra = '') => `istio_requests_total{${at(reporter)}${extra}}[1m]`;
const failed = (reporter: string) =>
  `rate(${requests(reporter, ',response_code=~"0|5.."')}) or rate(${requests(reporter, ',response_code!~"0|5..",grpc_response_status!~"|0"')})`;
const unattributed = 'istio_requests_total{reporter="source",destination_workload="unknown",' +
  'destination_service=~"payment-service\\\\.production\\\\.svc\\\\..+",response_code=~"0|5.."}[1m]';
const worseOf = (source: string, destination: string) =>
  `max(label_replace(${source}, "reporter", "source", "", "") or label_replace(${destination}, "reporter", "destination", "", ""))`;

describe('built-in Istio queries', () => {
  it('error rate: 5xx, response code 0 and gRPC errors over all requests, the worse of the callers\' and the canary\'s view', () => {
    expect(errorRateQuery(canary)).toBe(worseOf(
      `100 * (sum(${failed('source')}) or vector(0)) / sum(rate(${requests('source')}))`,
      `100 * (sum(${failed('destination')}) or vector(0)) / sum(rate(${requests('destination')}))`,
    ));
  });

  it('error rate with the routed host: the callers\' failures that reached no pod count as failed requests', () => {
    expect(errorRateQuery({ ...canary, serviceHost: 'payment-service' })).toBe(worseOf(
      `100 * (sum(${failed('source')} or rate(${unattributed})) or vector(0)) / sum(rate(${requests('source')}) or rate(${unattributed}))`,
      `100 * (sum(${failed('destination')}) or vector(0)) / sum(rate(${requests('destination')}))`,
    ));
  });

  it('request count: requests in the window, the larger view, including requests that reached no pod', () => {
    expect(requestCountQuery(canary)).toBe(worseOf(`sum(increase(${requests('source')}))`, `sum(increase(${requests('destination')}))`));
    expect(requestCountQuery({ ...canary, serviceHost: 'payment-service' })).toBe(
      worseOf(`sum(increase(${requests('source')}) or increase(${unattributed}))`, `sum(increase(${requests('destination')}))`),
    );
  });

  it.each([
    ['payment-service', 'destination_service=~"payment-service\\\\.production\\\\.svc\\\\..+"'],
    ['payment-service.billing', 'destination_service=~"payment-service\\\\.billing\\\\.svc\\\\..+"'],
    ['payment-service.production.svc.cluster.local', 'destination_service="payment-service.production.svc.cluster.local"'],
  ])('routed host %s is matched on destination_service as %s', (host, matcher) => {
    expect(destinationServiceMatcher(host, 'production')).toBe(matcher);
  });

  it('p99 latency from the duration histogram, at the canary\'s proxy', () => {
    expect(latencyP99Query(canary)).toBe(
      `histogram_quantile(0.99, sum by (le) (rate(istio_request_duration_milliseconds_bucket{${at('destination')}}[1m])))`,
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

  it('with all traffic on the canary, the comparisons with stable are left out; a broken judge is still refused', () => {
    const metrics = [{ name: 'error-rate', maxErrorRatePercent: 5 }, { name: 'errors-vs-stable', judge: { test: 'ErrorRate' as const } }];
    const comparing = buildAnalysisPlan(input({ metrics, maxErrorRateIncrease: 0.5 }));
    expect(comparing.checks.map((check) => check.kind)).toEqual(['threshold', 'judge', 'comparison']);
    const idle = buildAnalysisPlan({ ...input({ metrics, maxErrorRateIncrease: 0.5 }), stableIdle: true });
    expect(idle.checks.map((check) => check.name)).toEqual(['error-rate']);
    const broken = [{ name: 'judge-with-query', query: 'up', judge: { test: 'ErrorRate' as const } }];
    expect(() => buildAnalysisPlan({ ...input({ metrics: broken }), stableIdle: true })).toThrow(/a judge compares canary with stable/);
  });

  it('the routed host reaches the canary and stable error rates; a Prometheus address override is carried in the plan', () => {
    const plan = buildAnalysisPlan({
      ...input({ metrics: [{ name: 'error-rate', maxErrorRatePercent: 5 }], maxErrorRateIncrease: 0.5 }),
      serviceHost: 'payment-service', prometheusAddress: 'https://prometheus.billing:9090',
    });
    const withHost = { ...canary, serviceHost: 'payment-service' };
    expect(plan.requestCountQuery).toBe(requestCountQuery(withHost));
    expect(plan.checks[0]).toMatchObject({ query: errorRateQuery(withHost) });
    expect(plan.checks[1]).toMatchObject({
      canaryQuery: errorRateQuery(withHost), stableQuery: errorRateQuery({ ...withHost, workload: 'payment-service-stable' }),
    });
    expect(plan.prometheusAddress).toBe('https://prometheus.billing:9090');
    expect(buildAnalysisPlan(input({ metrics: [] }))).not.toHaveProperty('prometheusAddress');
  });

  it('a custom metric without limits is refused', () => {
    expect(() => buildAnalysisPlan(input({ metrics: [{ name: 'x', query: 'up' }] }))).toThrow(AnalysisConfigError);
  });
});
