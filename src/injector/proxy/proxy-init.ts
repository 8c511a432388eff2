// istio-init: runs istio-iptables once to send the pod's TCP traffic through Envoy (outbound to
// 15001, inbound to 15006) while letting the proxy's own UID through. With Istio CNI the node's
// plugin writes those rules, and istio-validation only checks them, without any privilege.
import type { V1Container, V1EnvVar } from '@kubernetes/client-node';
import { proxyResourceRequirements, type SidecarSettings } from '../annotations.ts';
import { istioSettings, type InjectorConfig } from '../config.ts';
import { initContainerName, proxyGid, proxyUid, validationContainerName } from '../istio/istio-constants.ts';
import { excludedInboundPorts } from './proxy-annotations.ts';

const knownImageTypes = ['distroless', 'debug'];

/** Istio's updateImageTypeIfPresent: a known type already on the tag is replaced, and "default" means none. */
function withImageType(tag: string, imageType: string): string {
  if (imageType === '') return tag;
  const known = knownImageTypes.find((type) => tag.endsWith(`-${type}`));
  const bare = known === undefined ? tag : tag.slice(0, -(known.length + 1));
  return imageType === 'default' ? bare : `${bare}-${imageType}`;
}

/** ProxyConfig.image.imageType (the mesh default, or the pod's proxy.istio.io/config over it), else values.global.variant. */
export function proxyImageType(proxyConfig: Record<string, unknown>, config: InjectorConfig): string {
  const image = proxyConfig.image;
  const imageType = typeof image === 'object' && image !== null ? (image as Record<string, unknown>).imageType : undefined;
  return typeof imageType === 'string' && imageType !== '' ? imageType : istioSettings(config).variant;
}

/** The proxy's image: a full reference as given, or hub/name:tag with the image type; by default the mesh's type. */
export function proxyImageReference(config: InjectorConfig, imageType: string = proxyImageType(config.proxyConfig, config)): string {
  return config.proxyImage.includes('/') ? config.proxyImage : `${config.hub}/${config.proxyImage}:${withImageType(config.tag, imageType)}`;
}

/** istio-init's image: values.global.proxy_init.image, typed by values.global.variant only (as Istio's ProxyInitImage). */
export function proxyInitImageReference(config: InjectorConfig): string {
  const { proxyInitImage, variant } = istioSettings(config);
  // Without Istio's values there is no proxy_init setting: istio-init runs the proxy's image.
  if (proxyInitImage === undefined) return proxyImageReference(config);
  return proxyInitImage.includes('/') ? proxyInitImage : `${config.hub}/${proxyInitImage}:${withImageType(config.tag, variant)}`;
}

/** istio-iptables flags as Istio's injection template writes them, shaped by the traffic settings. */
export function iptablesArgs(settings: SidecarSettings, config: InjectorConfig, exemptUid: number = proxyUid): string[] {
  const { traffic, proxy } = settings;
  const istio = istioSettings(config);
  return [
    'istio-iptables',
    '-p', String(istio.outboundListenerPort),
    '-z', String(istio.inboundListenerPort),
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
    ...(istio.logAsJson ? ['--log_as_json'] : []),
    ...(config.cniEnabled ? ['--run-validation', '--skip-rule-apply'] : istio.forceApplyIptables ? ['--force-apply'] : []),
    ...(istio.nativeNftables ? ['--native-nftables'] : []),
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
  const { seccompProfile } = istioSettings(config);
  return {
    name: config.cniEnabled ? validationContainerName : initContainerName,
    image: proxyInitImageReference(config),
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
          ...(seccompProfile ? { seccompProfile } : {}),
        }
      : {
          allowPrivilegeEscalation: false,
          privileged: false,
          capabilities: { add: ['NET_ADMIN', 'NET_RAW'], drop: ['ALL'] },
          readOnlyRootFilesystem: false,
          runAsGroup: 0,
          runAsNonRoot: false,
          runAsUser: 0,
          ...(seccompProfile ? { seccompProfile } : {}),
        },
  };
}
