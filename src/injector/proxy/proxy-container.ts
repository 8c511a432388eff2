// istio-proxy: pilot-agent and Envoy, running as the proxy UID/GID with a read-only root filesystem.
import type { V1Container, V1Lifecycle, V1Pod, V1SecurityContext } from '@kubernetes/client-node';
import { proxyResourceRequirements, type SidecarSettings } from '../annotations.ts';
import { istioSettings, type InjectorConfig } from '../config.ts';
import { envoyPrometheusPort, proxyContainerName, proxyGid, proxyUid } from '../istio/istio-constants.ts';
import { proxyEnvironment } from './proxy-env.ts';
import { readinessProbe, startupProbe } from './proxy-probes.ts';
import { proxyImageReference, proxyImageType } from './proxy-init.ts';
import { lightstepMounts, proxyVolumeMounts } from './proxy-volumes.ts';
import type { WorkloadIdentity } from '../workload-identity.ts';

export function buildProxyContainer(pod: V1Pod, settings: SidecarSettings, config: InjectorConfig, workload: WorkloadIdentity): V1Container {
  const istio = istioSettings(config);
  const lifecycle = istio.lifecycle ?? proxyLifecycle(settings);
  // Istio adds the startup probe in both modes when the values enable it (they do by default); a
  // native proxy without one counts as started, and the next init container runs, as soon as it runs.
  // A status port of 0 means no agent health endpoint: Istio then writes no probes for the proxy.
  const probed = settings.proxy.statusPort !== 0;
  const withStartupProbe = config.startupProbe.enabled && probed;
  return {
    name: proxyContainerName,
    image: proxyImageReference(config, proxyImageType(settings.proxyConfig, config)),
    ...(settings.nativeSidecar ? { restartPolicy: 'Always' } : {}),
    ports: [{ containerPort: envoyPrometheusPort, protocol: 'TCP', name: 'http-envoy-prom' }],
    args: [
      'proxy',
      'sidecar',
      '--domain',
      `$(POD_NAMESPACE).svc.${config.clusterDomain}`,
      `--proxyLogLevel=${settings.proxy.logLevels.proxy}`,
      `--proxyComponentLogLevel=${settings.proxy.logLevels.component}`,
      `--log_output_level=${settings.proxy.logLevels.agent}`,
      ...(istio.stsPort === 0 ? [] : [`--stsPort=${istio.stsPort}`]),
      ...(istio.logAsJson ? ['--log_as_json'] : []),
      ...(istio.outlierLogPath === '' ? [] : [`--outlierLogPath=${istio.outlierLogPath}`]),
    ],
    ...(lifecycle ? { lifecycle } : {}),
    env: proxyEnvironment(pod, settings, config, workload),
    ...(config.imagePullPolicy === '' ? {} : { imagePullPolicy: config.imagePullPolicy }),
    ...(withStartupProbe ? { startupProbe: startupProbe(config) } : {}),
    ...(probed ? { readinessProbe: readinessProbe(settings.proxy.readiness, config) } : {}),
    securityContext: { ...proxySecurityContext(settings), ...(istio.seccompProfile ? { seccompProfile: istio.seccompProfile } : {}) },
    resources: proxyResourceRequirements(settings),
    volumeMounts: [...proxyVolumeMounts(config), ...lightstepMounts(settings.proxyConfig, config), ...settings.proxy.userVolumeMounts],
  };
}

function proxyLifecycle(settings: SidecarSettings): V1Lifecycle | undefined {
  // Native sidecars are already started first and stopped last by the kubelet; they only need to drain.
  if (settings.nativeSidecar) {
    return { preStop: { exec: { command: ['pilot-agent', 'request', `--debug-port=${settings.proxy.statusPort}`, 'POST', 'drain'] } } };
  }
  // The kubelet starts the next container only when this postStart hook returns, i.e. when Envoy is ready.
  if (settings.holdApplicationUntilProxyStarts) return { postStart: { exec: { command: ['pilot-agent', 'wait'] } } };
  return undefined;
}

function proxySecurityContext(settings: SidecarSettings): V1SecurityContext {
  // TPROXY needs NET_ADMIN and root to set the transparent socket option; Istio does the same.
  const tproxy = settings.interceptionMode === 'TPROXY';
  return {
    allowPrivilegeEscalation: false,
    capabilities: tproxy ? { add: ['NET_ADMIN'], drop: ['ALL'] } : { drop: ['ALL'] },
    privileged: false,
    readOnlyRootFilesystem: true,
    runAsGroup: proxyGid,
    runAsNonRoot: !tproxy,
    runAsUser: tproxy ? 0 : proxyUid,
  };
}
