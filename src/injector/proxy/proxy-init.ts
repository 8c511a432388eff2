// istio-init: runs istio-iptables once to send the pod's TCP traffic through Envoy (outbound to
// 15001, inbound to 15006) while letting the proxy's own UID through. With Istio CNI the node's
// plugin writes those rules, and istio-validation only checks them, without any privilege.
import type { V1Container, V1EnvVar } from '@kubernetes/client-node';
import { proxyResourceRequirements, type SidecarSettings } from '../annotations.ts';
import type { InjectorConfig } from '../config.ts';
import { inboundListenerPort, initContainerName, outboundListenerPort, proxyGid, proxyUid, validationContainerName } from '../istio/istio-constants.ts';
import { excludedInboundPorts } from './proxy-annotations.ts';

export function proxyImageReference(config: InjectorConfig): string {
  return config.proxyImage.includes('/') ? config.proxyImage : `${config.hub}/${config.proxyImage}:${config.tag}`;
}

/** istio-iptables flags as Istio's injection template writes them, shaped by the traffic settings. */
export function iptablesArgs(settings: SidecarSettings, config: InjectorConfig, exemptUid: number = proxyUid): string[] {
  const { traffic, proxy } = settings;
  return [
    'istio-iptables',
    '-p', String(outboundListenerPort),
    '-z', String(inboundListenerPort),
    '-u', String(settings.interceptionMode === 'TPROXY' ? proxyUid : exemptUid),
    '-m', settings.interceptionMode,
    '-i', traffic.includeOutboundIPRanges,
    '-x', traffic.excludeOutboundIPRanges,
    '-b', traffic.includeInboundPorts,
    '-d', excludedInboundPorts(traffic.excludeInboundPorts, proxy.statusPort),
    ...(traffic.includeOutboundPorts === '' ? [] : ['-q', traffic.includeOutboundPorts]),
    ...(traffic.excludeOutboundPorts === '' ? [] : ['-o', traffic.excludeOutboundPorts]),
    ...(proxy.rerouteInterfaces === undefined ? [] : ['-k', proxy.rerouteInterfaces]),
    ...(proxy.excludeInterfaces === undefined ? [] : ['-c', proxy.excludeInterfaces]),
    `--log_output_level=${proxy.logLevels.agent}`,
    ...(config.cniEnabled ? ['--run-validation', '--skip-rule-apply'] : []),
  ];
}

/** proxyMetadata as environment variables, sorted by name as Istio's template ranges over the map. */
export function proxyMetadataEnv(settings: SidecarSettings): V1EnvVar[] {
  return Object.keys(settings.proxyMetadata)
    .sort()
    .map((name) => ({ name, value: settings.proxyMetadata[name] ?? '' }));
}

export function buildInitContainer(settings: SidecarSettings, config: InjectorConfig, exemptUid: number = proxyUid): V1Container {
  const env = proxyMetadataEnv(settings);
  const tproxy = settings.interceptionMode === 'TPROXY';
  return {
    name: config.cniEnabled ? validationContainerName : initContainerName,
    image: proxyImageReference(config),
    args: iptablesArgs(settings, config, exemptUid),
    ...(config.imagePullPolicy === '' ? {} : { imagePullPolicy: config.imagePullPolicy }),
    ...(env.length > 0 ? { env } : {}),
    // Istio gives istio-init the proxy's resources, so the pod's effective init requests match.
    resources: proxyResourceRequirements(settings),
    securityContext: config.cniEnabled
      ? {
          allowPrivilegeEscalation: false,
          privileged: false,
          capabilities: { drop: ['ALL'] },
          readOnlyRootFilesystem: true,
          runAsGroup: tproxy ? proxyGid : exemptUid,
          runAsUser: tproxy ? proxyUid : exemptUid,
          runAsNonRoot: true,
        }
      : {
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
