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
  ];
}

export function proxyPodVolumes(config: InjectorConfig): V1Volume[] {
  return proxyVolumes(config).map(({ volume }) => volume);
}

export function proxyVolumeMounts(config: InjectorConfig): V1VolumeMount[] {
  return proxyVolumes(config).map(({ volume, mountPath }) => ({ name: volume.name, mountPath }));
}
