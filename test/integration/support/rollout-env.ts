// The rollout tests' world: a real Prometheus scraping one traffic simulator per test namespace,
// that simulator routing by what a caller's sidecar has applied from istiod (never by the stored
// VirtualService), and the controller as its own process (`switchboard run --no-webhook`) so that
// it can be killed.
import { Watch } from '@kubernetes/client-node';
import { join } from 'node:path';
import { inject } from 'vitest';
import { stringify } from 'yaml';
import { startCallerTraffic, type CallerTraffic, type CallerTrafficOptions } from '../../harness/caller-traffic.ts';
import { ISTIOD_SETTLE } from '../../harness/istiod.ts';
import { startLivePods } from '../../harness/live-pods.ts';
import { startManagerProcess, type ManagerProcess } from '../../harness/manager-process.ts';
import type { AppliedRoutes } from '../../harness/sidecar.ts';
import { startPrometheus, type RunningPrometheus } from '../../harness/prometheus.ts';
import type { TrafficBehaviour } from '../../harness/traffic-simulator.ts';
import { kubectl, type TestCluster } from './cluster.ts';
import { laneLabels, laneSelector } from './lane.ts';

export type ControllerProcess = ManagerProcess;

let controllerCount = 0;
/** A controller that asks the local istiod whether proxies have applied its writes, unless told not to. */
export function startController(prometheusUrl: string, name = 'controller', options: { istiod?: boolean; args?: string[] } = {}): ControllerProcess {
  const istiod = inject('istiod');
  const istiodFlags = istiod && options.istiod !== false ? [`--istiod-url=${istiod.httpUrl}`, `--istiod-settle=${ISTIOD_SETTLE}`] : [];
  const selector = laneSelector();
  return startManagerProcess([
    '--no-webhook', `--kubeconfig=${inject('kubeconfig')}`, `--prometheus-url=${prometheusUrl}`, '--prometheus-scrape-interval=1s',
    '--metrics-bind-address=0', '--health-probe-bind-address=0', '--log-level=debug', ...istiodFlags,
    ...(selector === undefined ? [] : [`--shard-selector=${selector}`]), ...options.args ?? [],
  ], join(inject('clusterLogDir'), `${name}-${process.pid}-${controllerCount++}.log`));
}

export async function startMeshPrometheus(): Promise<RunningPrometheus> {
  return startPrometheus({ targets: [], logDir: inject('clusterLogDir') });
}

/** The payments Service's port: the one its callers' sidecars have routes for. */
const PAYMENTS_PORT = 80;

/**
 * The article's payment service: the payments Service, DestinationRule (stable subset only unless
 * asked) and a 100/0 VirtualService, and its caller, checkout: one pod whose identity the
 * simulated sidecar takes (the simulator reports it as source_workload).
 */
export async function deployPaymentsRouting(
  namespace: string, options: { withCanarySubset?: boolean; withDestinationRule?: boolean; namedRoutes?: boolean } = {},
): Promise<void> {
  const subsets = [{ name: 'stable', labels: { app: 'payments', 'switchboard.dev/track': 'stable' } }];
  if (options.withCanarySubset) subsets.push({ name: 'canary', labels: { app: 'payments', 'switchboard.dev/track': 'canary' } });
  const checkout = { app: 'checkout' };
  const documents: object[] = [
    {
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'payments', namespace },
      // Named http: istiod then takes the port for HTTP without sniffing, and routes it by the VirtualService.
      spec: { selector: { app: 'payments' }, ports: [{ name: 'http', port: PAYMENTS_PORT, targetPort: 8080 }] },
    },
    {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'checkout', namespace },
      spec: {
        replicas: 1, selector: { matchLabels: checkout },
        template: { metadata: { labels: checkout }, spec: { containers: [{ name: 'checkout', image: 'checkout:1.0' }] } },
      },
    },
    {
      apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'payments-routing', namespace },
      spec: {
        hosts: ['payments'],
        http: [
          {
            ...(options.namedRoutes ? { name: 'beta' } : {}),
            match: [{ headers: { 'x-beta-user': { exact: 'true' } } }], route: [{ destination: { host: 'payments', subset: 'stable' }, weight: 100 }],
          },
          {
            ...(options.namedRoutes ? { name: 'primary' } : {}),
            route: [{ destination: { host: 'payments', subset: 'stable' }, weight: 100 }, { destination: { host: 'payments', subset: 'canary' }, weight: 0 }],
            retries: { attempts: 3, perTryTimeout: '2s', retryOn: 'gateway-error,connect-failure,retriable-4xx' },
            timeout: '10s',
          },
        ],
      },
    },
  ];
  if (options.withDestinationRule !== false) {
    documents.unshift({
      apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'payments-destination', namespace },
      spec: { host: 'payments', trafficPolicy: { connectionPool: { http: { http2MaxRequests: 1000 } } }, subsets },
    });
  }
  await kubectl(['apply', '-f', '-'], documents.map((d) => stringify(d)).join('---\n'));
}

/** Healthy endpoints the caller's sidecar has applied for a subset of payments. */
export function healthyEndpoints(applied: AppliedRoutes, subset: string): number | undefined {
  return Object.entries(applied.clusters).find(([name]) => name.split('|')[2] === subset)?.[1].endpoints.filter((e) => e.healthy).length;
}

/**
 * For startOnceApplied: the caller's sidecar sends to `pods` stable endpoints. Traffic sent before
 * that fails as "no healthy upstream", which Istio reports with no destination workload, so the
 * canary's first analysis round would count those failures as its own.
 */
export function stableServes(pods: number): (applied: AppliedRoutes) => boolean {
  return (applied) => healthyEndpoints(applied, 'stable') === pods;
}

/**
 * checkout's traffic to payments, routed by what checkout's sidecar has applied from istiod, and
 * scraped by the Prometheus the controller asks. Subsets map to the track Deployments: Istio's
 * destination_workload is the Deployment's name, what the analysis queries select on.
 */
export async function startTraffic(cluster: TestCluster, prometheus: RunningPrometheus, namespace: string, canary: Partial<TrafficBehaviour> = {},
  options: Partial<Pick<CallerTrafficOptions, 'startOnceApplied' | 'applyDelaySeconds' | 'callerSelector' | 'requestHeaders'>> = {}): Promise<CallerTraffic> {
  const istiod = inject('istiod');
  if (!istiod) {
    throw new Error('the rollout tests route traffic through a sidecar that follows istiod, and this cluster has none: run them on the local control plane (unset USE_EXISTING_CLUSTER and SWITCHBOARD_TEST_CLUSTER)');
  }
  // A request to a pod that is gone fails, whatever a late sidecar still believes.
  const livePods = await startLivePods(cluster.kubeConfig, namespace);
  const traffic = await startCallerTraffic({
    kubeConfig: cluster.kubeConfig, istiod, namespace, host: 'payments', port: PAYMENTS_PORT, logDir: cluster.logDir,
    workloads: { stable: 'payments-stable', canary: 'payments-canary' }, requestsPerSecond: 100,
    behaviour: { stable: { errorRate: 0.001, latencyMs: 20 }, canary: { errorRate: 0, latencyMs: 25, ...canary } },
    liveEndpoints: livePods,
    ...options,
    callerSelector: options.callerSelector ?? 'app=checkout',
  }).catch((error: unknown) => {
    livePods.stop();
    throw error;
  });
  prometheus.addTarget(traffic.target);
  return { ...traffic, stop: async () => { await traffic.stop(); livePods.stop(); } };
}

export function paymentsRollout(namespace: string, image: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'switchboard.dev/v1alpha1', kind: 'Rollout', metadata: { name: 'payments', namespace, labels: laneLabels() },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'payments' } },
      template: { metadata: { labels: { app: 'payments' } }, spec: { containers: [{ name: 'payments', image, ports: [{ containerPort: 8080 }] }] } },
      trafficRouting: { host: 'payments', virtualService: { name: 'payments-routing' }, destinationRule: { name: 'payments-destination' } },
      steps: [{ setWeight: 20 }, { pause: { duration: '5s' } }, { setWeight: 50 }, { pause: { duration: '5s' } }],
      analysis: { interval: '5s', failureLimit: 1, minRequests: 10, metrics: [{ name: 'error-rate', maxErrorRatePercent: 5 }, { name: 'latency-p99', maxLatencyMs: 500 }] },
      progressDeadlineSeconds: 120,
      // Short, so that tests see the delay without waiting the default 30 s at every promotion.
      scaleDownDelaySeconds: 2,
      ...overrides,
    },
  };
}

/** Every canary weight the VirtualService payments-routing took, one entry per change the API server stored. */
export async function watchStoredWeights(cluster: TestCluster, namespace: string): Promise<{ weights: number[]; stop: () => void }> {
  const weights: number[] = [];
  const vs = await cluster.custom.getNamespacedCustomObject({ group: 'networking.istio.io', version: 'v1', plural: 'virtualservices', namespace, name: 'payments-routing' }) as { metadata: { resourceVersion: string } };
  const request = await new Watch(cluster.kubeConfig).watch(`/apis/networking.istio.io/v1/namespaces/${namespace}/virtualservices`,
    { resourceVersion: vs.metadata.resourceVersion, fieldSelector: 'metadata.name=payments-routing' },
    (type, object: { spec: { http: { route: { destination: { subset: string }; weight?: number }[] }[] } }) => {
      if (type !== 'MODIFIED') return;
      weights.push(object.spec.http[1]?.route.find((d) => d.destination.subset === 'canary')?.weight ?? 0);
    }, () => undefined);
  return { weights, stop: () => request.abort() };
}
