// Istio's resource annotations as its istio.io/api module lists them (annotation/annotations.yaml, at the
// version go.mod pins): the kinds each one is read on, and whether it is deprecated. Facts only; the
// rule that uses them is injection-istio.ts beside it.

/** What Istio calls the kinds an annotation attaches to; Any means every kind. */
export type AnnotationTarget =
  | 'Any' | 'AuthorizationPolicy' | 'Gateway' | 'GatewayClass' | 'Ingress' | 'Namespace' | 'Pod' | 'Service' | 'ServiceEntry' | 'WorkloadEntry';

export interface IstioAnnotation {
  appliesTo: readonly AnnotationTarget[];
  deprecated?: true;
  /** What to write instead of a deprecated one, where there is a successor. */
  replacedBy?: string;
}

const pod: IstioAnnotation = { appliesTo: ['Pod'] };
const deprecatedPod: IstioAnnotation = { appliesTo: ['Pod'], deprecated: true };
const replaced = (replacedBy: string): IstioAnnotation => ({ appliesTo: ['Pod'], deprecated: true, replacedBy });

export const ISTIO_ANNOTATIONS: Readonly<Record<string, IstioAnnotation>> = {
  'alpha.istio.io/canonical-serviceaccounts': { appliesTo: ['Service'], deprecated: true },
  'alpha.istio.io/kubernetes-serviceaccounts': { appliesTo: ['Service'], deprecated: true },
  'ambient.istio.io/bypass-inbound-capture': pod,
  'ambient.istio.io/dns-capture': pod,
  'ambient.istio.io/redirection': pod,
  'ambient.istio.io/waypoint-inbound-binding': { appliesTo: ['GatewayClass', 'Gateway'] },
  'galley.istio.io/analyze-suppress': { appliesTo: ['Any'] },
  'gateway.istio.io/controller-version': { appliesTo: ['Any'] },
  'gateway.istio.io/name-override': { appliesTo: ['Gateway'] },
  'gateway.istio.io/service-account': { appliesTo: ['Gateway'] },
  'inject.istio.io/templates': pod,
  'istio.io/autoRegistrationGroup': { appliesTo: ['WorkloadEntry'] },
  'istio.io/connectedAt': { appliesTo: ['WorkloadEntry'] },
  'istio.io/disconnectedAt': { appliesTo: ['WorkloadEntry'] },
  'istio.io/dry-run': { appliesTo: ['AuthorizationPolicy'] },
  'istio.io/reroute-virtual-interfaces': pod,
  'istio.io/rev': pod,
  'istio.io/use-waypoint-canary-weight': { appliesTo: ['Service', 'ServiceEntry', 'Namespace'] },
  'istio.io/workloadController': { appliesTo: ['WorkloadEntry'] },
  'kubernetes.io/ingress.class': { appliesTo: ['Ingress'] },
  'networking.istio.io/exportTo': { appliesTo: ['Service'] },
  'networking.istio.io/service-type': { appliesTo: ['Gateway'] },
  'networking.istio.io/traffic-distribution': { appliesTo: ['Namespace', 'Service', 'ServiceEntry'] },
  'prometheus.istio.io/merge-metrics': pod,
  'proxy.istio.io/config': pod,
  'proxy.istio.io/overrides': pod,
  'readiness.status.sidecar.istio.io/applicationPorts': pod,
  'readiness.status.sidecar.istio.io/failureThreshold': pod,
  'readiness.status.sidecar.istio.io/initialDelaySeconds': pod,
  'readiness.status.sidecar.istio.io/periodSeconds': pod,
  'sidecar.istio.io/agentLogLevel': pod,
  'sidecar.istio.io/bootstrapOverride': pod,
  'sidecar.istio.io/componentLogLevel': pod,
  'sidecar.istio.io/discoveryAddress': replaced('discoveryAddress in the annotation proxy.istio.io/config'),
  'sidecar.istio.io/extraStatTags': deprecatedPod,
  'sidecar.istio.io/inject': replaced('the pod label sidecar.istio.io/inject'),
  'sidecar.istio.io/interceptionMode': pod,
  'sidecar.istio.io/logLevel': pod,
  'sidecar.istio.io/nativeSidecar': pod,
  'sidecar.istio.io/proxyCPU': pod,
  'sidecar.istio.io/proxyCPULimit': pod,
  'sidecar.istio.io/proxyImage': pod,
  'sidecar.istio.io/proxyImageType': pod,
  'sidecar.istio.io/proxyMemory': pod,
  'sidecar.istio.io/proxyMemoryLimit': pod,
  'sidecar.istio.io/rewriteAppHTTPProbers': pod,
  'sidecar.istio.io/statsCompression': deprecatedPod,
  'sidecar.istio.io/statsEvictionInterval': pod,
  'sidecar.istio.io/statsFlushInterval': pod,
  'sidecar.istio.io/statsHistogramBins': pod,
  'sidecar.istio.io/statsHistogramBuckets': pod,
  'sidecar.istio.io/statsInclusionPrefixes': replaced('proxyStatsMatcher.inclusionPrefixes in the annotation proxy.istio.io/config'),
  'sidecar.istio.io/statsInclusionRegexps': replaced('proxyStatsMatcher.inclusionRegexps in the annotation proxy.istio.io/config'),
  'sidecar.istio.io/statsInclusionSuffixes': replaced('proxyStatsMatcher.inclusionSuffixes in the annotation proxy.istio.io/config'),
  'sidecar.istio.io/status': pod,
  'sidecar.istio.io/userVolume': pod,
  'sidecar.istio.io/userVolumeMount': pod,
  'status.sidecar.istio.io/port': pod,
  'topology.istio.io/controlPlaneClusters': { appliesTo: ['Namespace'] },
  'traffic.istio.io/nodeSelector': { appliesTo: ['Service'] },
  'traffic.sidecar.istio.io/excludeInboundPorts': pod,
  'traffic.sidecar.istio.io/excludeInterfaces': pod,
  'traffic.sidecar.istio.io/excludeOutboundIPRanges': pod,
  'traffic.sidecar.istio.io/excludeOutboundPorts': pod,
  'traffic.sidecar.istio.io/includeInboundPorts': pod,
  'traffic.sidecar.istio.io/includeOutboundIPRanges': pod,
  'traffic.sidecar.istio.io/includeOutboundPorts': pod,
  'traffic.sidecar.istio.io/kubevirtInterfaces': replaced('the annotation istio.io/reroute-virtual-interfaces'),
};

/** Set by istiod or its controllers rather than by people, so Istio's analyzers never judge them. */
export const CONTROLLER_SET_ANNOTATIONS: ReadonlySet<string> = new Set(['sidecar.istio.io/status', 'gateway.istio.io/controller-version', 'istio.io/rev']);

/**
 * Whether Istio's analyzers treat the key as theirs: any key whose prefix ends in istio.io (the
 * check is a plain suffix, as Istio's is), and the one Kubernetes annotation Istio documents.
 */
export function isIstioAnnotationKey(key: string): boolean {
  if (key === 'kubernetes.io/ingress.class') return true;
  return (key.split('/')[0] ?? '').endsWith('istio.io');
}
