// inject.istio.io/templates: which of Istio's injection templates shapes the pod. "sidecar" is the
// default; "gateway" is what Istio's gateway Helm chart asks for: the proxy runs as a router, the pod
// gets no istio-init (a gateway terminates traffic, it does not intercept it) and may bind low ports.
import type { V1Container, V1PodSecurityContext } from '@kubernetes/client-node';
import { annotationKeys, proxyGid, proxyUid } from './istio/istio-constants.ts';
import { annotationField, refusalCodes, type Refusal } from './refusals.ts';

export const injectionTemplates = ['sidecar', 'gateway'] as const;
export type InjectionTemplate = (typeof injectionTemplates)[number];

export type TemplateChoice = { template: InjectionTemplate; refusal?: undefined } | { template?: undefined; refusal: Refusal };

export function selectTemplate(annotations: Record<string, string>): TemplateChoice {
  const text = annotations[annotationKeys.injectTemplates];
  if (text === undefined) return { template: 'sidecar' };
  const names = text.split(',').map((name) => name.trim());
  const [only] = names;
  if (names.length === 1 && (injectionTemplates as readonly string[]).includes(only ?? '')) return { template: only as InjectionTemplate };
  return {
    refusal: {
      code: refusalCodes.unknownInjectionTemplate,
      field: annotationField(annotationKeys.injectTemplates),
      message: `annotation ${annotationKeys.injectTemplates} is ${JSON.stringify(text)}; this injector has the templates ${injectionTemplates.map((name) => JSON.stringify(name)).join(' and ')}, one per pod`,
    },
  };
}

/**
 * The gateway template's proxy, derived from the sidecar's: `proxy router`, only the proxy's
 * identity in the security context (the gateway chart's own container brings the rest), no startup
 * probe, lifecycle hooks or resources (the chart sets those).
 */
export function asGatewayProxy(sidecarProxy: V1Container): V1Container {
  const { startupProbe: _startup, lifecycle: _lifecycle, resources: _resources, restartPolicy: _restart, ...kept } = sidecarProxy;
  const args = [...(sidecarProxy.args ?? [])];
  if (args[1] === 'sidecar') args[1] = 'router';
  const volumeMounts = (sidecarProxy.volumeMounts ?? []).filter((mount) => mount.name !== 'istio-ca-crl');
  return { ...kept, args, securityContext: { runAsUser: proxyUid, runAsGroup: proxyGid }, volumeMounts };
}

/** Lets the gateway listen on 80 and 443 without NET_BIND_SERVICE, as the gateway template does. */
export function gatewayPodSecurityContext(podSecurityContext: V1PodSecurityContext | undefined): V1PodSecurityContext {
  return { ...podSecurityContext, sysctls: [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '0' }] };
}
