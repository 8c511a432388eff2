// The gateway template, which Istio's gateway Helm chart asks for: the proxy runs as a router, the
// pod gets no istio-init (a gateway terminates traffic, it does not intercept it) and may bind low ports.
import type { V1Container, V1PodSecurityContext } from '@kubernetes/client-node';
import { istioSettings, type InjectorConfig } from '../config.ts';
import { proxyGid, proxyUid } from '../istio/istio-constants.ts';
import { readinessProbe } from '../proxy/proxy-probes.ts';
import { proxyVolumeMounts } from '../proxy/proxy-volumes.ts';

// What the sidecar template adds and the gateway template does not.
const sidecarOnlyEnv = new Set(['REWRITE_PROBE_LEGACY_LOCALHOST_DESTINATION', 'OTEL_RESOURCE_ATTRIBUTES']);
const sidecarOnlyMounts = new Set(['istio-ca-crl', 'lightstep-certs']);

/**
 * The gateway template's proxy, derived from the sidecar's: `proxy router`, only the proxy's
 * identity in the security context (the gateway chart's own container brings the rest), no startup
 * probe or resources (the chart sets those), hooks only from values.global.proxy.lifecycle, and a
 * readiness probe from the values alone, whatever the status port.
 */
export function asGatewayProxy(sidecarProxy: V1Container, config?: InjectorConfig, proxyConfigInterceptionMode?: string): V1Container {
  const { startupProbe: _startup, lifecycle: _lifecycle, resources: _resources, restartPolicy: _restart, ...kept } = sidecarProxy;
  const args = (sidecarProxy.args ?? []).filter((arg) => !arg.startsWith('--outlierLogPath='));
  if (args[1] === 'sidecar') args[1] = 'router';
  const volumeMounts = (sidecarProxy.volumeMounts ?? []).filter((mount) => !sidecarOnlyMounts.has(mount.name));
  const gateway: V1Container = { ...kept, args, securityContext: { runAsUser: proxyUid, runAsGroup: proxyGid }, volumeMounts };
  if (sidecarProxy.env) {
    // The gateway template reads the interception mode from the ProxyConfig alone, never the annotation.
    const mode = proxyConfigInterceptionMode;
    gateway.env = sidecarProxy.env
      .filter((variable) => !sidecarOnlyEnv.has(variable.name))
      .map((variable) => (variable.name === 'ISTIO_META_INTERCEPTION_MODE' && mode ? { name: variable.name, value: mode } : variable));
  }
  if (config) {
    // Nor does it mount the pod's sidecar.istio.io/userVolumeMount.
    gateway.volumeMounts = [...proxyVolumeMounts(config, 'gateway')];
    gateway.readinessProbe = readinessProbe(config.readinessProbe, config);
    const { lifecycle } = istioSettings(config);
    if (lifecycle) gateway.lifecycle = lifecycle;
  }
  return gateway;
}

/**
 * Lets the gateway listen on 80 and 443 without NET_BIND_SERVICE, as the gateway template does, or
 * applies values.gateways.securityContext in its place, merged as a strategic merge patch merges it.
 */
export function gatewayPodSecurityContext(podSecurityContext: V1PodSecurityContext | undefined, configured?: V1PodSecurityContext): V1PodSecurityContext {
  if (configured) return mergeMappings(podSecurityContext ?? {}, configured) as V1PodSecurityContext;
  return { ...podSecurityContext, sysctls: [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '0' }] };
}

/** Mappings merge key by key, a null removes the key, and lists and scalars replace. */
function mergeMappings(base: object, overlay: object): object {
  const isMapping = (value: unknown): value is object => typeof value === 'object' && value !== null && !Array.isArray(value);
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(overlay)) {
    if (value === null) delete merged[key];
    else merged[key] = isMapping(value) && isMapping(merged[key]) ? mergeMappings(merged[key] as object, value) : value;
  }
  return merged;
}
