// Traffic as one caller pod's sidecar sends it: a simulated sidecar takes the identity of a
// running pod of the caller, follows istiod for the destination Service, and the traffic
// simulator routes every request by what that sidecar has applied. A weight change therefore
// reaches the traffic only once istiod has pushed it, as in a mesh, never straight from the
// stored VirtualService. Shared by the rollout tests and the demo.
import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import type { IstiodAddresses } from './istiod.ts';
import { waitFor } from './processes.ts';
import { sidecarIdentity, startSidecar, type AppliedRoutes, type SimulatedSidecar } from './sidecar.ts';
import { TrafficSimulator, type TrafficSimulatorOptions } from './traffic-simulator.ts';

export interface CallerTraffic {
  simulator: TrafficSimulator;
  sidecar: SimulatedSidecar;
  /** host:port of the simulator's /metrics, for Prometheus to scrape. */
  target: string;
  /** Stops the simulator, then the sidecar. */
  stop(): Promise<void>;
}

export interface CallerTrafficOptions extends Omit<TrafficSimulatorOptions, 'routeBy'> {
  /** Where the caller's pods are read from. */
  kubeConfig: KubeConfig;
  istiod: IstiodAddresses;
  /** Label selector of the caller's pods, e.g. app=checkout; the first ready one lends its identity. */
  callerSelector: string;
  /** The destination Service's port, as its sidecar's routes are keyed. */
  port: number;
  logDir: string;
  /** The Service's cluster domain; cluster.local unless the cluster says otherwise. */
  clusterDomain?: string;
  /**
   * No request is sent until the sidecar has applied a config this accepts: for a measurement
   * that must not count the requests of a moment when, say, a subset had no endpoints yet.
   */
  startOnceApplied?: (applied: AppliedRoutes) => boolean;
  /** The caller's sidecar applies every push this long after it came: a slow proxy. */
  applyDelaySeconds?: number;
}

export async function startCallerTraffic(options: CallerTrafficOptions): Promise<CallerTraffic> {
  const { kubeConfig, istiod, callerSelector, port, logDir, clusterDomain, startOnceApplied: accepted, applyDelaySeconds, ...simulatorOptions } = options;
  const { namespace, host } = simulatorOptions;
  const caller = await readyPod(kubeConfig, namespace, callerSelector);
  const sidecar = await startSidecar({
    xdsAddress: istiod.xdsAddress, pod: sidecarIdentity(caller), logDir,
    host: `${host}.${namespace}.svc.${clusterDomain ?? 'cluster.local'}`, port,
    ...(applyDelaySeconds === undefined ? {} : { applyDelaySeconds }),
  });
  const simulator = new TrafficSimulator({ ...simulatorOptions, routeBy: { sidecar } });
  let target: string;
  try {
    if (accepted) {
      await waitFor(`the sidecar of ${sidecar.proxyId} to have applied the config the traffic waits for`, async () => {
        const applied = sidecar.applied();
        return applied !== undefined && accepted(applied);
      }, { timeoutMs: 120_000, logs: `its log in ${logDir}` }).catch((error: Error) => {
        throw new Error(`${error.message}; what it last applied: ${JSON.stringify(sidecar.applied())}`);
      });
    }
    target = await simulator.start();
  } catch (error) {
    await sidecar.stop();
    throw error;
  }
  return {
    simulator, sidecar, target,
    async stop() {
      await simulator.stop();
      await sidecar.stop();
    },
  };
}

/** A caller pod with an IP and Ready: istiod pushes to a proxy only once its pod is known. */
async function readyPod(kubeConfig: KubeConfig, namespace: string, selector: string): Promise<V1Pod> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  let found: V1Pod | undefined;
  await waitFor(`a ready pod matching ${selector} in namespace ${namespace} to give the caller's sidecar an identity`, async () => {
    const pods = (await core.listNamespacedPod({ namespace, labelSelector: selector })).items;
    found = pods.find((pod) => pod.status?.podIP && pod.metadata?.deletionTimestamp === undefined
      && (pod.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'));
    return found !== undefined;
  }, { timeoutMs: 120_000, logs: 'the control plane logs (kube-scheduler, kwok)' });
  return found!;
}
