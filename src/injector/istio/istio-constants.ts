// Names and numbers fixed by Istio's data plane. They are part of the contract with istiod and the
// proxy image, so they are constants rather than configuration.

export const proxyContainerName = 'istio-proxy';
export const initContainerName = 'istio-init';
/** With Istio CNI: checks the redirect the node's CNI plugin set up, in place of istio-init. */
export const validationContainerName = 'istio-validation';

/** The proxy's UID and GID: istio-iptables lets their traffic bypass the redirect, so Envoy does not loop. */
export const proxyUid = 1337;
export const proxyGid = 1337;

export const outboundListenerPort = 15001;
export const inboundListenerPort = 15006;
/** pilot-agent's status port: merged Prometheus stats and application probe rewrites. */
export const statusPort = 15020;
/** Envoy's health port, answering /healthz/ready. */
export const healthPort = 15021;
export const envoyPrometheusPort = 15090;
/** Inbound ports never redirected: the proxy's own metrics, health and status endpoints. */
export const alwaysExcludedInboundPorts = [envoyPrometheusPort, healthPort, statusPort] as const;

export const annotationKeys = {
  status: 'sidecar.istio.io/status',
  inject: 'sidecar.istio.io/inject',
  proxyCpu: 'sidecar.istio.io/proxyCPU',
  proxyMemory: 'sidecar.istio.io/proxyMemory',
  proxyCpuLimit: 'sidecar.istio.io/proxyCPULimit',
  proxyMemoryLimit: 'sidecar.istio.io/proxyMemoryLimit',
  interceptionMode: 'sidecar.istio.io/interceptionMode',
  nativeSidecar: 'sidecar.istio.io/nativeSidecar',
  proxyConfig: 'proxy.istio.io/config',
  mergeMetrics: 'prometheus.istio.io/merge-metrics',
  rewriteAppHTTPProbers: 'sidecar.istio.io/rewriteAppHTTPProbers',
  injectTemplates: 'inject.istio.io/templates',
  includeOutboundIPRanges: 'traffic.sidecar.istio.io/includeOutboundIPRanges',
  excludeOutboundIPRanges: 'traffic.sidecar.istio.io/excludeOutboundIPRanges',
  includeInboundPorts: 'traffic.sidecar.istio.io/includeInboundPorts',
  excludeInboundPorts: 'traffic.sidecar.istio.io/excludeInboundPorts',
  includeOutboundPorts: 'traffic.sidecar.istio.io/includeOutboundPorts',
  excludeOutboundPorts: 'traffic.sidecar.istio.io/excludeOutboundPorts',
  revision: 'istio.io/rev',
  defaultContainer: 'kubectl.kubernetes.io/default-container',
  defaultLogsContainer: 'kubectl.kubernetes.io/default-logs-container',
} as const;

export const labelKeys = {
  inject: 'sidecar.istio.io/inject',
  namespaceInjection: 'istio-injection',
  revision: 'istio.io/rev',
  tlsMode: 'security.istio.io/tlsMode',
  canonicalName: 'service.istio.io/canonical-name',
  canonicalRevision: 'service.istio.io/canonical-revision',
  network: 'topology.istio.io/network',
} as const;

export const interceptionModes = ['REDIRECT', 'TPROXY', 'NONE'] as const;
export type InterceptionMode = (typeof interceptionModes)[number];
