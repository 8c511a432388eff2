// The volumes the proxy mounts, in the order Istio's template declares them; which ones, and their
// sources, follow the values that say how the proxy gets its certificates.
import type { V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import { istioSettings, type InjectorConfig } from '../config.ts';

interface ProxyVolume {
  volume: V1Volume;
  mountPath: string;
  readOnly?: boolean;
}

function proxyVolumes(config: InjectorConfig): ProxyVolume[] {
  const istio = istioSettings(config);
  // Only istiod's own certificates need its root certificate and CRL (values.global.pilotCertProvider).
  const rootCertificate: ProxyVolume[] =
    istio.pilotCertProvider !== 'istiod'
      ? []
      : [
          {
            volume: istio.clusterTrustBundle
              ? {
                  name: 'istiod-ca-cert',
                  projected: { sources: [{ clusterTrustBundle: { name: `istio.io:istiod-ca:${istio.trustBundleName || 'root-cert'}`, path: 'root-cert.pem' } }] },
                }
              : { name: 'istiod-ca-cert', configMap: { name: istio.trustBundleName || 'istio-ca-root-cert' } },
            mountPath: '/var/run/secrets/istio',
          },
        ];
  return [
    // SPIFFE workload API socket and credentials, for workloads that fetch their own certificates.
    { volume: { name: 'workload-socket', emptyDir: {} }, mountPath: '/var/run/secrets/workload-spiffe-uds' },
    { volume: { name: 'credential-socket', emptyDir: {} }, mountPath: '/var/run/secrets/credential-uds' },
    istio.gkeWorkloadCertificate
      ? {
          volume: { name: 'gke-workload-certificate', csi: { driver: 'workloadcertificates.security.cloud.google.com' } },
          mountPath: '/var/run/secrets/workload-spiffe-credentials',
          readOnly: true,
        }
      : { volume: { name: 'workload-certs', emptyDir: {} }, mountPath: '/var/run/secrets/workload-spiffe-credentials' },
    // SDS channel between pilot-agent and Envoy: in memory, never on the node's disk.
    { volume: { name: 'istio-envoy', emptyDir: { medium: 'Memory' } }, mountPath: '/etc/istio/proxy' },
    { volume: { name: 'istio-data', emptyDir: {} }, mountPath: '/var/lib/istio/data' },
    {
      volume: {
        name: 'istio-podinfo',
        downwardAPI: {
          items: [
            { path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } },
            { path: 'annotations', fieldRef: { fieldPath: 'metadata.annotations' } },
          ],
        },
      },
      mountPath: '/etc/istio/pod',
    },
    {
      volume: {
        name: 'istio-token',
        projected: {
          sources: [{ serviceAccountToken: { path: 'istio-token', expirationSeconds: 43200, audience: config.tokenAudience } }],
        },
      },
      mountPath: '/var/run/secrets/tokens',
    },
    ...rootCertificate,
    // istiod's certificate revocation list, when the mesh has one: optional, so pods start without it.
    // The template declares the volume whoever signs, but mounts it only beside istiod's root certificate.
    { volume: { name: 'istio-ca-crl', configMap: { name: istio.crlConfigMapName || 'istio-ca-crl', optional: true } }, mountPath: '/var/run/secrets/istio/crl' },
  ];
}

// The proxy mounts them in another order than the pod declares them; Istio's template does the same,
// and keeping both orders makes our output compare equal to Istio's, list for list.
const mountOrder = [
  'workload-socket', 'credential-socket', 'gke-workload-certificate', 'workload-certs', 'istiod-ca-cert', 'istio-ca-crl', 'istio-data', 'istio-envoy',
  'istio-token', 'istio-certs', 'istio-podinfo',
];

const mtlsCertsMount: V1VolumeMount = { name: 'istio-certs', mountPath: '/etc/certs/', readOnly: true };

interface ProxyVolumeLists {
  sidecar: readonly V1Volume[];
  gateway: readonly V1Volume[];
  mounts: readonly V1VolumeMount[];
  gatewayMounts: readonly V1VolumeMount[];
}

// Built once per configuration object (a new one arrives only when the configuration changes) and
// shared by every injected pod: frozen, so that no step of an injection can change another's.
const listsByConfig = new WeakMap<InjectorConfig, ProxyVolumeLists>();

function volumeLists(config: InjectorConfig): ProxyVolumeLists {
  let lists = listsByConfig.get(config);
  if (!lists) {
    const volumes = proxyVolumes(config);
    const byName = new Map(volumes.map(({ volume, mountPath, readOnly }) => [volume.name, { mountPath, readOnly }]));
    const mounted = (name: string) =>
      name === 'istio-certs' ? istioSettings(config).mountMtlsCerts : byName.has(name) && (name !== 'istio-ca-crl' || byName.has('istiod-ca-cert'));
    const mountOf = (name: string): V1VolumeMount => {
      const { mountPath = '', readOnly } = byName.get(name) ?? {};
      return { name, mountPath, ...(readOnly ? { readOnly } : {}) };
    };
    const mounts = mountOrder.filter(mounted).map((name) => (name === 'istio-certs' ? mtlsCertsMount : mountOf(name)));
    lists = deepFreeze({
      sidecar: volumes.map(({ volume }) => volume),
      // The gateway template has no CRL volume.
      gateway: volumes.map(({ volume }) => volume).filter((volume) => volume.name !== 'istio-ca-crl'),
      mounts,
      gatewayMounts: mounts.filter((mount) => mount.name !== 'istio-ca-crl'),
    });
    listsByConfig.set(config, lists);
  }
  return lists;
}

/**
 * The pod's volumes for the proxy. With values.global.mountMtlsCerts the pod's service account picks
 * the secret, so that volume is the pod's own and follows the shared ones.
 */
export function proxyPodVolumes(config: InjectorConfig, template: 'sidecar' | 'gateway' = 'sidecar', serviceAccountName?: string): readonly V1Volume[] {
  const shared = volumeLists(config)[template];
  if (!istioSettings(config).mountMtlsCerts) return shared;
  const secretName = serviceAccountName ? `istio.${serviceAccountName}` : 'istio.default';
  return [...shared, { name: 'istio-certs', secret: { optional: true, secretName } }];
}

export function proxyVolumeMounts(config: InjectorConfig, template: 'sidecar' | 'gateway' = 'sidecar'): readonly V1VolumeMount[] {
  const lists = volumeLists(config);
  return template === 'gateway' ? lists.gatewayMounts : lists.mounts;
}

/** The lightstep tracer's CA, when values.global.proxy.tracer is lightstep and the pod's ProxyConfig has tracing TLS settings. */
function lightstepCaCertificates(proxyConfig: Record<string, unknown>, config: InjectorConfig): string | undefined {
  if (istioSettings(config).tracer !== 'lightstep') return undefined;
  const tracing = proxyConfig.tracing;
  const tls = typeof tracing === 'object' && tracing !== null ? (tracing as Record<string, unknown>).tlsSettings : undefined;
  if (typeof tls !== 'object' || tls === null) return undefined;
  const certificates = (tls as Record<string, unknown>).caCertificates;
  return typeof certificates === 'string' ? certificates : '';
}

export function lightstepMounts(proxyConfig: Record<string, unknown>, config: InjectorConfig): V1VolumeMount[] {
  const certificates = lightstepCaCertificates(proxyConfig, config);
  if (certificates === undefined) return [];
  // Go's path.Split: the directory keeps its trailing slash.
  return [{ mountPath: certificates.slice(0, certificates.lastIndexOf('/') + 1), name: 'lightstep-certs', readOnly: true }];
}

/** The lightstep CA's secret; the template lists it after the pod's own user volumes. */
export function lightstepVolumes(proxyConfig: Record<string, unknown>, config: InjectorConfig): V1Volume[] {
  if (lightstepCaCertificates(proxyConfig, config) === undefined) return [];
  return [{ name: 'lightstep-certs', secret: { optional: true, secretName: 'lightstep.cacert' } }];
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const entry of Object.values(value)) deepFreeze(entry);
    Object.freeze(value);
  }
  return value;
}
