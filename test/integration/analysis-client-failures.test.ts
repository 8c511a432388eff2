// The built-in error rate against a real Prometheus, fed by the traffic simulator playing both
// Istio proxies: failures that only the caller's proxy sees (a reset before any response, no
// healthy upstream) and gRPC errors behind HTTP 200 fail the canary instead of reading as "no
// traffic" or as success.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { PrometheusClient } from '../../src/analysis/prometheus.ts';
import { buildAnalysisPlan } from '../../src/analysis/queries.ts';
import { runAnalysis } from '../../src/analysis/run.ts';
import type { AnalysisRound } from '../../src/analysis/types.ts';
import { istioCrdManifest } from '../harness/istio-api.ts';
import type { RunningPrometheus } from '../harness/prometheus.ts';
import { TrafficSimulator, type FailureMode } from '../harness/traffic-simulator.ts';
import { createNamespace, deleteNamespace, eventually, installCrds, kubectl, testCluster } from './support/cluster.ts';
import { startMeshPrometheus } from './support/rollout-env.ts';

const cluster = testCluster();
let prometheus: RunningPrometheus;
const namespaces: string[] = [];
const simulators: TrafficSimulator[] = [];

beforeAll(async () => {
  await installCrds(cluster, [istioCrdManifest(['networking.istio.io']).path]);
  prometheus = await startMeshPrometheus();
});
afterAll(async () => {
  await Promise.all(simulators.map((simulator) => simulator.stop()));
  await prometheus?.stop();
  await Promise.all(namespaces.map((namespace) => deleteNamespace(cluster, namespace)));
});

/** Half the traffic to a canary that fails a share of its requests in the given way. */
async function canaryFailing(failure: FailureMode, errorRate: number): Promise<string> {
  const namespace = await createNamespace(cluster, 'analysis');
  namespaces.push(namespace);
  await kubectl(['apply', '-f', '-'], stringify({
    apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'payments-routing', namespace },
    spec: {
      hosts: ['payments'],
      http: [{ route: [{ destination: { host: 'payments', subset: 'stable' }, weight: 50 }, { destination: { host: 'payments', subset: 'canary' }, weight: 50 }] }],
    },
  }));
  const simulator = new TrafficSimulator({
    kubeConfig: cluster.kubeConfig, namespace, virtualService: 'payments-routing', host: 'payments',
    workloads: { stable: 'payments-stable', canary: 'payments-canary' }, requestsPerSecond: 100,
    behaviour: { stable: { errorRate: 0, latencyMs: 20 }, canary: { errorRate, latencyMs: 20, failure } },
  });
  simulators.push(simulator);
  prometheus.addTarget(await simulator.start());
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
