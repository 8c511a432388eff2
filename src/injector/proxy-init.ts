// istio-init: runs istio-iptables once, before any other container, to send the pod's TCP traffic
// through Envoy (outbound to 15001, inbound to 15006) while letting the proxy's own UID through.
import type { V1Container } from '@kubernetes/client-node';
import { proxyResourceRequirements, type SidecarSettings } from './annotations.ts';
import type { InjectorConfig } from './config.ts';
import {
  alwaysExcludedInboundPorts,
  inboundListenerPort,
  initContainerName,
  outboundListenerPort,
  proxyUid,
} from './istio-constants.ts';

export function proxyImageReference(config: InjectorConfig): string {
  return config.proxyImage.includes('/') ? config.proxyImage : `${config.hub}/${config.proxyImage}:${config.tag}`;
}

/** istio-iptables flags as Istio's injection template writes them, shaped by the traffic settings. */
export function iptablesArgs(settings: SidecarSettings, config: InjectorConfig, exemptUid: number = proxyUid): string[] {
  const { traffic } = settings;
  const excludedInbound = [...alwaysExcludedInboundPorts.map(String), ...splitList(traffic.excludeInboundPorts)];
  return [
    'istio-iptables',
    '-p', String(outboundListenerPort),
    '-z', String(inboundListenerPort),
    '-u', String(exemptUid),
    '-m', settings.interceptionMode,
    '-i', traffic.includeOutboundIPRanges,
    '-x', traffic.excludeOutboundIPRanges,
    '-b', traffic.includeInboundPorts,
    '-d', [...new Set(excludedInbound)].join(','),
    ...(traffic.includeOutboundPorts === '' ? [] : ['-q', traffic.includeOutboundPorts]),
    ...(traffic.excludeOutboundPorts === '' ? [] : ['-o', traffic.excludeOutboundPorts]),
    `--log_output_level=${config.agentLogLevel}`,
  ];
}

export function buildInitContainer(settings: SidecarSettings, config: InjectorConfig, exemptUid: number = proxyUid): V1Container {
  return {
    name: initContainerName,
    image: proxyImageReference(config),
    args: iptablesArgs(settings, config, exemptUid),
    ...(config.imagePullPolicy === '' ? {} : { imagePullPolicy: config.imagePullPolicy }),
    // Istio gives istio-init the proxy's resources, so the pod's effective init requests match.
    resources: proxyResourceRequirements(settings),
    securityContext: {
      allowPrivilegeEscalation: false,
      privileged: false,
      capabilities: { add: ['NET_ADMIN', 'NET_RAW'], drop: ['ALL'] },
      readOnlyRootFilesystem: false,
      runAsGroup: 0,
      runAsNonRoot: false,
      runAsUser: 0,
    },
  };
}

function splitList(list: string): string[] {
  return list === '' ? [] : list.split(',');
}
