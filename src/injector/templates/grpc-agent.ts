// grpc-agent: pilot-agent without Envoy (DISABLE_ENVOY) beside a proxyless gRPC app. The agent
// fetches the workload certificate and serves xDS to the app's gRPC library over a Unix socket in
// a shared volume; the app containers get the bootstrap that points there.
import type { V1Container, V1EnvVar, V1Pod, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import type { SidecarSettings } from '../annotations.ts';
import { istioSettings, type InjectorConfig } from '../config.ts';
import { proxyContainerName } from '../istio/istio-constants.ts';
import { proxyMetadataEnv } from '../proxy/proxy-init.ts';
import { proxyPodVolumes } from '../proxy/proxy-volumes.ts';
import type { WorkloadIdentity } from '../workload-identity.ts';

// The agent's status port is fixed in this template, whatever the mesh config says.
const agentPort = 15020;
const bootstrapOverrideAnnotation = 'sidecar.istio.io/bootstrapOverride';

// Variables the sidecar's proxy and this agent share, taken from the sidecar's, in this template's order.
const sharedEnv = [
  'REWRITE_PROBE_LEGACY_LOCALHOST_DESTINATION', 'PILOT_CERT_PROVIDER', 'CA_ADDR', 'POD_NAME', 'POD_NAMESPACE', 'INSTANCE_IP', 'SERVICE_ACCOUNT', 'HOST_IP',
  'PROXY_CONFIG', 'ISTIO_META_POD_PORTS', 'ISTIO_META_APP_CONTAINERS', 'ISTIO_META_CLUSTER_ID', 'ISTIO_META_NODE_NAME', 'ISTIO_META_NETWORK',
];

function workloadCertificateMount(gke: boolean): V1VolumeMount {
  return gke
    ? { name: 'gke-workload-certificate', mountPath: '/var/run/secrets/workload-spiffe-credentials', readOnly: true }
    : { name: 'workload-certs', mountPath: '/var/run/secrets/workload-spiffe-credentials' };
}

/** The agent container, given the sidecar template's proxy for the same pod (its image, args and shared variables). */
export function grpcAgentProxy(sidecarProxy: V1Container, pod: V1Pod, settings: SidecarSettings, config: InjectorConfig, workload: WorkloadIdentity): V1Container {
  const istio = istioSettings(config);
  const sidecarEnv = sidecarProxy.env ?? [];
  const shared = (name: string) => sidecarEnv.filter((variable) => variable.name === name);
  const text = (name: string, value: string): V1EnvVar[] => (value === '' ? [] : [{ name, value }]);
  const owner = sidecarEnv.find((variable) => variable.name === 'ISTIO_META_OWNER');
  const env: V1EnvVar[] = [
    { name: 'ISTIO_META_GENERATOR', value: 'grpc' },
    { name: 'OUTPUT_CERTS', value: '/var/lib/istio/data' },
    ...sharedEnv.flatMap(shared),
    ...text('ISTIO_META_WORKLOAD_NAME', workload.name),
    ...(owner && workload.name !== '' ? [owner] : []),
    ...text('ISTIO_META_MESH_ID', config.meshId),
    ...text('TRUST_DOMAIN', config.trustDomain),
    ...proxyMetadataEnv(settings),
    // gRPC resolves xds:/// names itself; no virtual IPs to capture.
    { name: 'ISTIO_META_DNS_CAPTURE', value: 'false' },
    { name: 'DISABLE_ENVOY', value: 'true' },
  ];
  // In this template the status port's condition also covers the resources and the agent's mounts.
  const probed = settings.proxy.statusPort !== 0;
  const mounts: V1VolumeMount[] = [
    { name: 'workload-socket', mountPath: '/var/run/secrets/workload-spiffe-uds' },
    workloadCertificateMount(istio.gkeWorkloadCertificate),
    ...(istio.pilotCertProvider === 'istiod' ? [{ mountPath: '/var/run/secrets/istio', name: 'istiod-ca-cert' }] : []),
    { mountPath: '/var/lib/istio/data', name: 'istio-data' },
    { mountPath: '/etc/istio/proxy', name: 'istio-xds' },
    { mountPath: '/var/run/secrets/tokens', name: 'istio-token' },
    ...(istio.mountMtlsCerts ? [{ mountPath: '/etc/certs/', name: 'istio-certs', readOnly: true }] : []),
    { name: 'istio-podinfo', mountPath: '/etc/istio/pod' },
  ];
  const { readiness } = settings.proxy;
  return {
    name: proxyContainerName,
    image: sidecarProxy.image ?? '',
    ports: [{ containerPort: agentPort, protocol: 'TCP', name: 'mesh-metrics' }],
    args: (sidecarProxy.args ?? []).filter((arg) => !arg.startsWith('--outlierLogPath=')),
    lifecycle: { postStart: { exec: { command: ['pilot-agent', 'wait', `--url=http://localhost:${agentPort}/healthz/ready`] } } },
    env,
    ...(config.imagePullPolicy === '' ? {} : { imagePullPolicy: config.imagePullPolicy }),
    ...(probed
      ? {
          // A 0 is left out, as Go leaves it out, and the API server puts its default in.
          readinessProbe: {
            httpGet: { path: '/healthz/ready', port: agentPort },
            initialDelaySeconds: readiness.initialDelaySeconds,
            ...(readiness.periodSeconds === 0 ? {} : { periodSeconds: readiness.periodSeconds }),
            timeoutSeconds: 3,
            ...(readiness.failureThreshold === 0 ? {} : { failureThreshold: readiness.failureThreshold }),
          },
          ...(sidecarProxy.resources ? { resources: sidecarProxy.resources } : {}),
        }
      : {}),
    volumeMounts: [...(probed ? mounts : []), ...settings.proxy.userVolumeMounts],
  };
}

/** What grpc-agent adds to each app container: the bootstrap and the agent's socket and certificates. */
export function grpcAgentAppPatch(name: string, gke: boolean): V1Container {
  return {
    name,
    env: [
      { name: 'GRPC_XDS_EXPERIMENTAL_SECURITY_SUPPORT', value: 'true' },
      { name: 'GRPC_XDS_BOOTSTRAP', value: '/etc/istio/proxy/grpc-bootstrap.json' },
    ],
    volumeMounts: [{ mountPath: '/var/lib/istio/data', name: 'istio-data' }, { mountPath: '/etc/istio/proxy', name: 'istio-xds' }, workloadCertificateMount(gke)],
  };
}

export function grpcAgentVolumes(pod: V1Pod, settings: SidecarSettings, config: InjectorConfig): V1Volume[] {
  const istio = istioSettings(config);
  // The token, istiod's root certificate and the service account's secret are the sidecar's.
  const sidecar = new Map(proxyPodVolumes(config, 'sidecar', pod.spec?.serviceAccountName).map((volume) => [volume.name, volume]));
  const fromSidecar = (name: string) => (sidecar.has(name) ? [sidecar.get(name) as V1Volume] : []);
  const bootstrap = pod.metadata?.annotations?.[bootstrapOverrideAnnotation];
  return [
    // Declared without a source, which the API server takes for an empty directory.
    { name: 'workload-socket' },
    istio.gkeWorkloadCertificate ? { name: 'gke-workload-certificate', csi: { driver: 'workloadcertificates.security.cloud.google.com' } } : { name: 'workload-certs' },
    ...(bootstrap === undefined ? [] : [{ name: 'custom-bootstrap-volume', configMap: { name: bootstrap } }]),
    { name: 'istio-xds', emptyDir: { medium: 'Memory' } },
    { name: 'istio-data', emptyDir: {} },
    ...fromSidecar('istio-podinfo'),
    ...fromSidecar('istio-token'),
    ...fromSidecar('istiod-ca-cert'),
    ...fromSidecar('istio-certs'),
    ...settings.proxy.userVolumes,
  ];
}
