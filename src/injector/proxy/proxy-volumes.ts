// The volumes the proxy mounts, in the order Istio's template declares them.
import type { V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import type { InjectorConfig } from '../config.ts';

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

interface ProxyVolumeLists {
  sidecar: readonly V1Volume[];
  gateway: readonly V1Volume[];
  mounts: readonly V1VolumeMount[];
}

// Built once per configuration object (a new one arrives only when the configuration changes) and
// shared by every injected pod: frozen, so that no step of an injection can change another's.
const listsByConfig = new WeakMap<InjectorConfig, ProxyVolumeLists>();

function volumeLists(config: InjectorConfig): ProxyVolumeLists {
  let lists = listsByConfig.get(config);
  if (!lists) {
    const volumes = proxyVolumes(config);
    const byName = new Map(volumes.map(({ volume, mountPath }) => [volume.name, mountPath]));
    lists = deepFreeze({
      sidecar: volumes.map(({ volume }) => volume),
      // The gateway template has no CRL volume.
      gateway: volumes.map(({ volume }) => volume).filter((volume) => volume.name !== 'istio-ca-crl'),
      mounts: mountOrder.map((name) => ({ name, mountPath: byName.get(name) ?? '' })),
    });
    listsByConfig.set(config, lists);
  }
  return lists;
}

export function proxyPodVolumes(config: InjectorConfig, template: 'sidecar' | 'gateway' = 'sidecar'): readonly V1Volume[] {
  return volumeLists(config)[template];
}

export function proxyVolumeMounts(config: InjectorConfig): readonly V1VolumeMount[] {
  return volumeLists(config).mounts;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const entry of Object.values(value)) deepFreeze(entry);
    Object.freeze(value);
  }
  return value;
}
