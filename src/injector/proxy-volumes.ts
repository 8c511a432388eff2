// The volumes the proxy mounts, in the order Istio's template declares them.
import type { V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import type { InjectorConfig } from './config.ts';

interface ProxyVolume {
  volume: V1Volume;
  mountPath: string;
}

function proxyVolumes(config: InjectorConfig): ProxyVolume[] {
  return [
    // SPIFFE workload API socket and credentials, for workloads that fetch their own certificates.
    { volume: { name: 'workload-socket', emptyDir: {} }, mountPath: '/var/run/secrets/workload-spiffe-uds' },
    { volume: { name: 'credential-socket', emptyDir: {} }, mountPath: '/var/run/secrets/credential-uds' },
    { volume: { name: 'workload-certs', emptyDir: {} }, mountPath: '/var/run/secrets/workload-spiffe-credentials' },
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
    { volume: { name: 'istiod-ca-cert', configMap: { name: 'istio-ca-root-cert' } }, mountPath: '/var/run/secrets/istio' },
    // istiod's certificate revocation list, when the mesh has one: optional, so pods start without it.
    { volume: { name: 'istio-ca-crl', configMap: { name: 'istio-ca-crl', optional: true } }, mountPath: '/var/run/secrets/istio/crl' },
  ];
}

// The proxy mounts them in another order than the pod declares them; Istio's template does the same,
// and keeping both orders makes our output compare equal to Istio's, list for list.
const mountOrder = ['workload-socket', 'credential-socket', 'workload-certs', 'istiod-ca-cert', 'istio-ca-crl', 'istio-data', 'istio-envoy', 'istio-token', 'istio-podinfo'];

/** The gateway template has no CRL volume. */
export function proxyPodVolumes(config: InjectorConfig, template: 'sidecar' | 'gateway' = 'sidecar'): V1Volume[] {
  return proxyVolumes(config)
    .map(({ volume }) => volume)
    .filter((volume) => template === 'sidecar' || volume.name !== 'istio-ca-crl');
}

export function proxyVolumeMounts(config: InjectorConfig): V1VolumeMount[] {
  const byName = new Map(proxyVolumes(config).map(({ volume, mountPath }) => [volume.name, mountPath]));
  return mountOrder.map((name) => ({ name, mountPath: byName.get(name) ?? '' }));
}
