// Plays the mesh's data plane for tests and the demo: "sends" requests to the stable and canary
// workloads, fails a chosen share of the canary's, and exports what Istio's sidecars would:
// istio_requests_total from the caller's proxy (reporter="source") and the workload's
// (reporter="destination"), and istio_request_duration_milliseconds from the workload's, with
// Istio's label names. Requests are routed by what a simulated sidecar has applied from istiod's
// pushes (`routeBy.sidecar`), never by the VirtualService as stored: routing moves only once istiod
// has pushed a change and that sidecar has applied it, header matches count, a subset without
// endpoints fails as Envoy's "no healthy upstream", and, given the live pods, an endpoint whose pod
// is gone fails as a connection failure.
import { createServer, type Server } from 'node:http';
import { Counter, Histogram, Registry } from 'prom-client';
import { catchAllWeights, matchedRoute, mirroredSubsets, parseClusterName, routeRequest, type SimulatedRequest } from './envoy-routing.ts';
import type { AppliedRoutes, AppliedRoutesSource } from './sidecar.ts';

// Istio's default buckets for istio_request_duration_milliseconds.
const ISTIO_DURATION_BUCKETS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000];

/**
 * How a failed request fails, and so which proxies report it:
 * - http-503: the workload answers 503 (both proxies report it);
 * - reset: the connection to the workload is reset before any response (response code 0, only
 *   the caller's proxy reports it);
 * - grpc: HTTP 200 with grpc-status 14 UNAVAILABLE (both report it);
 * - no-healthy-upstream: the caller's proxy finds no ready pod in the subset (503, flag UH; only it
 *   reports it, and it cannot name a destination workload).
 * Routing by a sidecar adds three more, only the caller's proxy reporting them: no-route (no route
 * matches: 404, flag NR), no-cluster (the route's cluster is unknown to the proxy: 503, flag NC) and
 * upstream-connect-failure (the endpoint picked is a pod already gone: 503, flag UF).
 */
export type FailureMode = 'http-503' | 'reset' | 'grpc' | 'no-healthy-upstream' | 'no-route' | 'no-cluster' | 'upstream-connect-failure';

const OUTCOME_LABELS: Record<FailureMode | 'none', { response_code: string; response_flags: string; request_protocol: string; grpc_response_status: string }> = {
  none: { response_code: '200', response_flags: '-', request_protocol: 'http', grpc_response_status: '' },
  'http-503': { response_code: '503', response_flags: '-', request_protocol: 'http', grpc_response_status: '' },
  reset: { response_code: '0', response_flags: 'UC', request_protocol: 'http', grpc_response_status: '' },
  grpc: { response_code: '200', response_flags: '-', request_protocol: 'grpc', grpc_response_status: '14' },
  'no-healthy-upstream': { response_code: '503', response_flags: 'UH', request_protocol: 'http', grpc_response_status: '' },
  'no-route': { response_code: '404', response_flags: 'NR', request_protocol: 'http', grpc_response_status: '' },
  'no-cluster': { response_code: '503', response_flags: 'NC', request_protocol: 'http', grpc_response_status: '' },
  'upstream-connect-failure': { response_code: '503', response_flags: 'UF', request_protocol: 'http', grpc_response_status: '' },
};

/** Failures the caller's proxy makes up itself: no workload saw the request. */
const PROXY_LOCAL: ReadonlySet<FailureMode> = new Set(['no-healthy-upstream', 'no-route', 'no-cluster', 'upstream-connect-failure']);

export interface TrafficBehaviour {
  errorRate: number;
  latencyMs: number;
  /**
   * Share of mirrored copies that fail (their Host ends in -shadow, which a workload may not
   * serve); errorRate when not given.
   */
  shadowErrorRate?: number;
  /** http-503 when not given. */
  failure?: FailureMode;
}

export interface TrafficSimulatorOptions {
  namespace: string;
  /** The destination Service's short name. */
  host: string;
  /** The sidecar whose applied routes and endpoints route every request. */
  routeBy: { sidecar: AppliedRoutesSource };
  /**
   * The pods that exist now (live-pods.ts): a late sidecar still lists a deleted pod's endpoint as
   * healthy, so only the cluster can tell that it no longer answers. Without them, every endpoint does.
   */
  liveEndpoints?: { isLive(address: string): boolean; workloadOf?(address: string): string | undefined };
  /** Shares of the requests that carry these headers (only a sidecar's routes look at them). */
  requestHeaders?: { share: number; headers: Record<string, string> }[];
  /**
   * Subset name → workload (Deployment) name, e.g. { stable: 'payments-stable', canary: 'payments-canary' },
   * for requests whose pod is not known by address (liveEndpoints' workloadOf names it otherwise).
   */
  workloads: Record<string, string>;
  requestsPerSecond: number;
  behaviour: Record<string, TrafficBehaviour>;
}

export class TrafficSimulator {
  readonly registry = new Registry();
  private readonly requests: Counter<string>;
  private readonly duration: Histogram<string>;
  private server: Server | undefined;
  private timers: NodeJS.Timeout[] = [];
  private readonly options: TrafficSimulatorOptions;

  constructor(options: TrafficSimulatorOptions) {
    this.options = options;
    const labelNames = ['reporter', 'source_workload', 'source_workload_namespace', 'destination_workload', 'destination_workload_namespace',
      'destination_service', 'destination_service_name', 'destination_version', 'response_code', 'request_protocol', 'response_flags', 'grpc_response_status'];
    this.requests = new Counter({ name: 'istio_requests_total', help: 'Requests seen by the source and destination proxies', labelNames, registers: [this.registry] });
    this.duration = new Histogram({
      name: 'istio_request_duration_milliseconds', help: 'Request duration at the destination proxy', labelNames, buckets: ISTIO_DURATION_BUCKETS, registers: [this.registry],
    });
  }

  setBehaviour(subset: string, behaviour: Partial<TrafficBehaviour>): void {
    this.options.behaviour[subset] = { ...this.options.behaviour[subset] ?? { errorRate: 0, latencyMs: 10 }, ...behaviour };
  }

  currentWeights(): Record<string, number> {
    const applied = this.options.routeBy.sidecar.applied();
    return applied ? catchAllWeights(applied) : {};
  }

  /** Starts serving /metrics on 127.0.0.1 and generating traffic; returns the scrape target host:port. */
  async start(): Promise<string> {
    const tickMs = 100;
    this.timers.push(setInterval(() => this.tickBySidecar(tickMs), tickMs));
    this.server = createServer((req, res) => {
      void this.registry.metrics().then((body) => {
        res.writeHead(200, { 'content-type': this.registry.contentType });
        res.end(body);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    return `127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** Each request goes where the sidecar's applied routes send it, as its Envoy would send it. */
  private tickBySidecar(tickMs: number): void {
    const applied = this.options.routeBy.sidecar.applied();
    // Before its first push a sidecar has no route for the host: no traffic yet, as for a pod
    // whose proxy is not ready.
    if (!applied || applied.routes.length === 0) return;
    const count = Math.round((this.options.requestsPerSecond * tickMs) / 1000);
    const live = this.options.liveEndpoints;
    const isLive = live ? (address: string) => live.isLive(address) : undefined;
    for (let i = 0; i < count; i++) {
      const request = this.nextRequest();
      for (const subset of mirroredSubsets(applied, matchedRoute(applied, request))) this.recordShadow(subset, this.workloadOfSubset(applied, subset));
      const outcome = routeRequest(applied, request, Math.random, isLive);
      if (outcome.kind === 'no-route' || outcome.kind === 'no-cluster') {
        this.record('unknown', 'unknown', outcome.kind, 0);
        continue;
      }
      const byPod = outcome.kind === 'upstream' && outcome.address !== undefined ? live?.workloadOf?.(outcome.address) : undefined;
      const workload = byPod ?? this.options.workloads[outcome.subset] ?? 'unknown';
      if (outcome.kind === 'no-healthy-upstream' || outcome.kind === 'upstream-connect-failure') {
        this.record(outcome.subset, workload, outcome.kind, 0);
        continue;
      }
      const behaviour = this.options.behaviour[outcome.subset] ?? { errorRate: 0, latencyMs: 10 };
      const failed = Math.random() < behaviour.errorRate;
      this.record(outcome.subset, workload, failed ? behaviour.failure ?? 'http-503' : undefined, behaviour.latencyMs);
    }
  }

  private nextRequest(): SimulatedRequest {
    let pick = Math.random();
    for (const { share, headers } of this.options.requestHeaders ?? []) {
      if ((pick -= share) < 0) return { path: '/', headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])) };
    }
    return { path: '/', headers: {} };
  }

  /**
   * A mirrored copy: only the workload's proxy reports it (the caller's never sees it, as with
   * Istio: istio/istio#23496), and its answer goes nowhere.
   */
  private recordShadow(subset: string, workload: string): void {
    const behaviour = this.options.behaviour[subset] ?? { errorRate: 0, latencyMs: 10 };
    const failed = Math.random() < (behaviour.shadowErrorRate ?? behaviour.errorRate);
    this.record(subset, workload, failed ? 'http-503' : undefined, behaviour.latencyMs, 'destination');
  }

  /** The workload behind a subset: that of its first healthy endpoint's pod when known, else the configured one. */
  private workloadOfSubset(applied: AppliedRoutes, subset: string): string {
    for (const [name, cluster] of Object.entries(applied.clusters)) {
      if (parseClusterName(name).subset !== subset) continue;
      const endpoint = cluster.endpoints.find((candidate) => candidate.healthy);
      const byPod = endpoint === undefined ? undefined : this.options.liveEndpoints?.workloadOf?.(endpoint.address);
      if (byPod !== undefined) return byPod;
    }
    return this.options.workloads[subset] ?? 'unknown';
  }

  private record(subset: string, workload: string, failure: FailureMode | undefined, latencyMs: number, only?: 'destination'): void {
    const { namespace, host } = this.options;
    const reachedNoPod = failure !== undefined && PROXY_LOCAL.has(failure);
    const labels = {
      source_workload: 'checkout', source_workload_namespace: namespace,
      destination_workload: reachedNoPod ? 'unknown' : workload, destination_workload_namespace: reachedNoPod ? 'unknown' : namespace,
      destination_service: `${host}.${namespace}.svc.cluster.local`, destination_service_name: host,
      destination_version: reachedNoPod ? 'unknown' : subset,
      ...OUTCOME_LABELS[failure ?? 'none'],
    };
    if (only === undefined) this.requests.inc({ ...labels, reporter: 'source' });
    if (failure === 'reset' || reachedNoPod) return;
    this.requests.inc({ ...labels, reporter: 'destination' });
    this.duration.observe({ ...labels, reporter: 'destination' }, latencyMs * (0.5 + Math.random()));
  }
}
