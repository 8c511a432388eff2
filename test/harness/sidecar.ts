// A simulated sidecar: hack/istio-reference/cmd/sidecar, connected to istiod's plaintext xDS
// as one real pod of the cluster. It applies and ACKs istiod's pushes as Envoy does (late, when
// given a delay) and reports on stdout, as JSON lines, what it has applied for one destination;
// this module keeps the latest of those reports for the traffic simulator and tests.
import type { V1Pod } from '@kubernetes/client-node';
import { spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { istiodPrograms } from './istiod.ts';
import { rememberProcess, tailOf } from './processes.ts';

export interface HeaderMatch {
  name: string;
  exact?: string;
  prefix?: string;
  suffix?: string;
  contains?: string;
  regex?: string;
  present?: boolean;
  ignoreCase?: boolean;
  invert?: boolean;
}

export interface AppliedRoute {
  name: string;
  match: { prefix?: string; path?: string; regex?: string; headers?: HeaderMatch[] };
  /** Envoy's weighted clusters (one at weight 100 for a plain route), e.g. outbound|80|v1|web.ns.svc.cluster.local. */
  clusters: { name: string; weight: number }[];
  mirrors?: { cluster: string; percent: number }[];
  directResponse?: number;
}

export interface AppliedCluster {
  /** False when a route names a cluster CDS has not given. */
  known: boolean;
  endpoints: { address: string; healthy: boolean }[];
}

/** What the sidecar runs with for one host:port, as of its last applied push. */
export interface AppliedRoutes {
  host: string;
  port: number;
  /** Per xDS type, the version and nonce last ACKed (what istiod's /debug/syncz calls *_acked). */
  acked: Record<'cds' | 'rds' | 'eds', { version: string; nonce: string }>;
  /** The host's routes in match order; empty until istiod has sent a route for it. */
  routes: AppliedRoute[];
  clusters: Record<string, AppliedCluster>;
}

/** Anything the traffic simulator can route by. */
export interface AppliedRoutesSource {
  applied(): AppliedRoutes | undefined;
}

export interface SidecarIdentity {
  podName: string;
  namespace: string;
  podIp: string;
  labels: Record<string, string>;
}

export interface SimulatedSidecar extends AppliedRoutesSource {
  /** The xDS node ID, as istiod's /debug/syncz and /debug/connections name the proxy (minus the type and IP). */
  readonly proxyId: string;
  /** Pushes received and not yet applied and ACKed. */
  pendingPushes(): number;
  stop(): Promise<void>;
}

/** The identity of a pod as its sidecar would present it; the pod must have an IP. */
export function sidecarIdentity(pod: V1Pod): SidecarIdentity {
  const podIp = pod.status?.podIP;
  const podName = pod.metadata?.name;
  const namespace = pod.metadata?.namespace;
  if (!podIp || !podName || !namespace) {
    throw new Error(`pod ${namespace ?? '?'}/${podName ?? '?'} has no IP yet: wait until it runs before giving it a sidecar`);
  }
  return { podName, namespace, podIp, labels: pod.metadata?.labels ?? {} };
}

export async function startSidecar(options: {
  xdsAddress: string;
  pod: SidecarIdentity;
  /** Destination host (FQDN) and port whose routes and endpoints are reported. */
  host: string;
  port: number;
  /** Each push is applied and ACKed this long after it arrived: a slow proxy. */
  applyDelaySeconds?: number;
  logDir: string;
}): Promise<SimulatedSidecar> {
  const binary = istiodPrograms()['xds-sidecar'];
  const { pod } = options;
  const args = [
    `--xds=${options.xdsAddress}`, `--pod-name=${pod.podName}`, `--pod-namespace=${pod.namespace}`, `--pod-ip=${pod.podIp}`,
    ...Object.entries(pod.labels).map(([key, value]) => `--label=${key}=${value}`),
    `--host=${options.host}`, `--port=${options.port}`, `--apply-delay=${options.applyDelaySeconds ?? 0}s`,
  ];
  // stdin stays open: the sidecar exits when it closes, so it never outlives this process.
  const child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  rememberProcess(child.pid);
  const logFile = join(options.logDir, `sidecar-${pod.namespace}-${pod.podName}-${child.pid}.log`);
  appendFileSync(logFile, `${binary} ${args.join(' ')}\n`);
  child.stderr.on('data', (chunk: Buffer) => appendFileSync(logFile, chunk));
  let applied: AppliedRoutes | undefined;
  let received = 0;
  let appliedCount = 0;
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const connected = new Promise<void>((resolve, reject) => {
    child.on('exit', (code) => reject(new Error(`the simulated sidecar of ${pod.namespace}/${pod.podName} exited with ${code}; its log (${logFile}) ends with:\n${tailOf(logFile)}`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      appendFileSync(logFile, `${line}\n`);
      let event: { event?: string } & Partial<AppliedRoutes>;
      try {
        event = JSON.parse(line) as typeof event;
      } catch {
        return; // not a report; it is in the log
      }
      if (event.event === 'connected') {
        // Pushes in flight on a broken stream are lost, as for Envoy: istiod sends them again.
        received = appliedCount;
        resolve();
      }
      if (event.event === 'received') received += 1;
      if (event.event === 'applied') {
        appliedCount += 1;
        applied = event as AppliedRoutes;
      }
    });
  });
  await connected;
  return {
    proxyId: `${pod.podName}.${pod.namespace}`,
    applied: () => applied,
    pendingPushes: () => received - appliedCount,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
