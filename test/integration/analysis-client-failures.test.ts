// The built-in error rate against a real Prometheus, fed by the traffic simulator playing both
// Istio proxies, its requests routed by what the caller's sidecar has applied from istiod:
// failures that only the caller's proxy sees (a reset before any response, no healthy upstream)
// and gRPC errors behind HTTP 200 fail the canary instead of reading as "no traffic" or as success.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { PrometheusClient } from '../../src/analysis/prometheus.ts';
import { buildAnalysisPlan } from '../../src/analysis/queries.ts';
import { runAnalysis } from '../../src/analysis/run.ts';
import type { AnalysisRound } from '../../src/analysis/types.ts';
import { istioCrdManifest } from '../harness/istio-api.ts';
import type { RunningPrometheus } from '../harness/prometheus.ts';
import type { CallerTraffic } from '../harness/caller-traffic.ts';
import { catchAllWeights } from '../harness/envoy-routing.ts';
import type { FailureMode } from '../harness/traffic-simulator.ts';
import { createNamespace, deleteNamespace, eventually, installCrds, kubectl, testCluster } from './support/cluster.ts';
import { deployPaymentsRouting, healthyEndpoints, startMeshPrometheus, startTraffic } from './support/rollout-env.ts';

const cluster = testCluster();
let prometheus: RunningPrometheus;
const namespaces: string[] = [];
const traffics: CallerTraffic[] = [];

beforeAll(async () => {
  await installCrds(cluster, [istioCrdManifest(['networking.istio.io']).path]);
  prometheus = await startMeshPrometheus();
});
afterAll(async () => {
  await Promise.all(traffics.map((traffic) => traffic.stop()));
  await prometheus?.stop();
  await Promise.all(namespaces.map((namespace) => deleteNamespace(cluster, namespace)));
});

function track(namespace: string, name: 'stable' | 'canary', replicas: number): object {
  const labels = { app: 'payments', 'switchboard.dev/track': name };
  return {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: `payments-${name}`, namespace },
    spec: { replicas, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'payments', image: 'payments:1.0' }] } } },
  };
}

/**
 * Half the traffic to a canary that fails a share of its requests in the given way; a canary
 * without pods (no-healthy-upstream) fails as the caller's sidecar makes it fail, for want of
 * endpoints. No request is sent before the sidecar routes 50/50 to pods that are ready, so that no
 * 503 of a subset still without endpoints counts in the measured window.
 */
async function canaryFailing(failure: FailureMode, errorRate: number): Promise<string> {
  const namespace = await createNamespace(cluster, 'analysis');
  namespaces.push(namespace);
  await deployPaymentsRouting(namespace, { withCanarySubset: true });
  const canaryPods = failure === 'no-healthy-upstream' ? 0 : 1;
  await kubectl(['apply', '-f', '-'], [
    track(namespace, 'stable', 2), track(namespace, 'canary', canaryPods),
    {
      apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'payments-routing', namespace },
      spec: {
        hosts: ['payments'],
        http: [{ route: [{ destination: { host: 'payments', subset: 'stable' }, weight: 50 }, { destination: { host: 'payments', subset: 'canary' }, weight: 50 }] }],
      },
    },
  ].map((d) => stringify(d)).join('---\n'));
  const behaviour = failure === 'no-healthy-upstream' ? {} : { errorRate, failure };
  traffics.push(await startTraffic(cluster, prometheus, namespace, behaviour, {
    startOnceApplied: (applied) => {
      const weights = catchAllWeights(applied);
      return weights.stable === 50 && weights.canary === 50 && applied.routes.length === 1
        && healthyEndpoints(applied, 'stable') === 2 && healthyEndpoints(applied, 'canary') === canaryPods;
    },
  }));
  return namespace;
}

/** Analysis rounds until one concludes (Prometheus needs a few scrapes before rate() has two samples). */
async function concludedRound(namespace: string): Promise<AnalysisRound> {
  const provider = new PrometheusClient({ url: prometheus.url });
  const plan = buildAnalysisPlan({
    namespace, rolloutName: 'payments', canaryWorkload: 'payments-canary', stableWorkload: 'payments-stable',
    canaryRevision: 'r1', stepIndex: 0, serviceHost: 'payments',
    // Enough requests that a random 30% share lands well inside the bounds asserted below.
    analysis: { interval: '30s', failureLimit: 0, minRequests: 300, consecutiveErrorLimit: 4, inconclusiveLimit: 3, maxErrorRateIncrease: 5, metrics: [{ name: 'error-rate', maxErrorRatePercent: 5 }] },
  });
  let round: AnalysisRound | undefined;
  await eventually(`a conclusive analysis round in ${namespace}`, async () => {
    round = await runAnalysis(provider, plan);
    return round.verdict === 'pass' || round.verdict === 'fail';
  }, 90_000, 1_000);
  return round!;
}

describe('built-in error rate on a real Prometheus', () => {
  it('passes a canary that does not fail', async () => {
    const round = await concludedRound(await canaryFailing('http-503', 0));
    expect(round.verdict).toBe('pass');
    expect(round.checks.find((check) => check.name === 'error-rate')?.value).toBe(0);
  });

  it.each([
    ['http-503', 0.3],
    ['reset', 0.3],
    ['grpc', 0.3],
  ] as const)('fails a canary whose %s failures are %s of its requests', async (failure, share) => {
    const round = await concludedRound(await canaryFailing(failure, share));
    expect(round.verdict).toBe('fail');
    const errorRate = round.checks.find((check) => check.name === 'error-rate');
    // Random failures: the share is 30% on average; anything near it, and far above the 5% limit.
    expect(errorRate?.value).toBeGreaterThan(15);
    expect(errorRate?.value).toBeLessThan(45);
    expect(round.checks.find((check) => check.name === 'error-rate-increase')?.verdict).toBe('fail');
  });

  it('fails a canary that has no healthy pod, where only the callers report, instead of reading it as no traffic', async () => {
    const round = await concludedRound(await canaryFailing('no-healthy-upstream', 1));
    expect(round.verdict).toBe('fail');
    const errorRate = round.checks.find((check) => check.name === 'error-rate');
    expect(errorRate?.verdict).toBe('fail');
    // Prometheus divides two sums of rates, so "all failed" can come back as 100.00000000000001.
    expect(errorRate?.value).toBeCloseTo(100, 6);
  });
});
