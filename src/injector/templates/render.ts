// What each injection template adds to a pod, and the templates named merged in order, as Istio
// merges each rendered template over the pod (a strategic merge patch): containers, volumes and
// variables by name, mounts by path; other lists and scalars replaced by the later template.
import type { V1Container, V1Pod, V1Volume } from '@kubernetes/client-node';
import type { SidecarSettings } from '../annotations.ts';
import { istioSettings, type InjectorConfig } from '../config.ts';
import { proxyContainerName } from '../istio/istio-constants.ts';
import { proxyPodVolumes, lightstepVolumes } from '../proxy/proxy-volumes.ts';
import type { WorkloadIdentity } from '../workload-identity.ts';
import { asGatewayProxy } from './gateway.ts';
import { grpcAgentAppPatch, grpcAgentProxy, grpcAgentVolumes } from './grpc-agent.ts';
import { grpcBootstrapInit, grpcSimpleAppPatch, grpcSimpleVolumes } from './grpc.ts';
import type { ProxyRendering } from './selection.ts';
import { strategicMerge } from './strategic-merge.ts';

export interface TemplateInput {
  /** The pod as the templates see it: its own istio-proxy still among its containers. */
  pod: V1Pod;
  settings: SidecarSettings;
  config: InjectorConfig;
  workload: WorkloadIdentity;
  /** The sidecar template's proxy, from which the gateway's is derived. */
  sidecarProxy: V1Container;
  /** istio-init or istio-validation, when the sidecar template intercepts traffic. */
  iptables: V1Container[];
  /** The sidecar template puts the proxy among the init containers (a native sidecar). */
  nativeSidecar: boolean;
}

/** One template's rendering, in the template's own order. */
interface Rendered {
  initContainers: V1Container[];
  containers: V1Container[];
  volumes: V1Volume[];
  pullSecrets: boolean;
}

// Volumes the templates declare without a source (`- emptyDir:` with nothing after it, a null):
// another template's source for the same name then stands alone, as Istio's SPIRE template relies on.
const sourceless: Record<'sidecar' | 'gateway', string[]> = {
  sidecar: ['workload-socket', 'credential-socket', 'workload-certs'],
  gateway: ['workload-socket'],
};

function asDeclared(template: 'sidecar' | 'gateway', volumes: readonly V1Volume[]): V1Volume[] {
  return volumes.map((volume) => (sourceless[template].includes(volume.name) ? { name: volume.name } : volume));
}

/** A volume still without a source is an empty directory, as the API server reads it; written out. */
export function withSources(volumes: V1Volume[]): V1Volume[] {
  return volumes.map((volume) => (Object.keys(volume).every((key) => key === 'name') ? { name: volume.name, emptyDir: {} } : volume));
}

function render(template: string, input: TemplateInput): Rendered {
  const { pod, settings, config, sidecarProxy } = input;
  const apps = (pod.spec?.containers ?? []).filter((container) => container.name !== proxyContainerName).map((container) => container.name);
  const serviceAccount = pod.spec?.serviceAccountName;
  switch (template) {
    case 'sidecar':
      return {
        initContainers: [...input.iptables, ...(input.nativeSidecar ? [sidecarProxy] : [])],
        containers: input.nativeSidecar ? [] : [sidecarProxy],
        volumes: [...asDeclared('sidecar', proxyPodVolumes(config, 'sidecar', serviceAccount)), ...settings.proxy.userVolumes, ...lightstepVolumes(settings.proxyConfig, config)],
        pullSecrets: true,
      };
    case 'gateway': {
      const mode = typeof settings.proxyConfig.interceptionMode === 'string' && settings.proxyConfig.interceptionMode !== '' ? settings.proxyConfig.interceptionMode : config.interceptionMode;
      return {
        initContainers: [],
        containers: [asGatewayProxy(sidecarProxy, config, mode)],
        volumes: asDeclared('gateway', proxyPodVolumes(config, 'gateway', serviceAccount)),
        pullSecrets: true,
      };
    }
    case 'grpc-simple':
      // Every container, the pod's own istio-proxy too: this template does not skip it.
      return { initContainers: [grpcBootstrapInit(config)], containers: (pod.spec?.containers ?? []).map((container) => grpcSimpleAppPatch(container.name)), volumes: grpcSimpleVolumes(), pullSecrets: false };
    case 'grpc-agent':
      return {
        initContainers: [],
        containers: [grpcAgentProxy(sidecarProxy, pod, settings, config, input.workload), ...apps.map((name) => grpcAgentAppPatch(name, istioSettings(config).gkeWorkloadCertificate))],
        volumes: grpcAgentVolumes(pod, settings, config),
        pullSecrets: true,
      };
    default: {
      // A static custom template renders as written, whatever the pod.
      const custom = istioSettings(config).customTemplates[template];
      if (!custom) throw new TypeError(`no injection template ${JSON.stringify(template)}`);
      return { initContainers: custom.initContainers, containers: custom.containers, volumes: custom.volumes, pullSecrets: false };
    }
  }
}

/** Where a template puts istio-proxy, and whether it renders the whole proxy or only adds to it. */
export function proxyRendering(template: string, nativeSidecar: boolean, config: InjectorConfig, podHasProxy = false): ProxyRendering | undefined {
  switch (template) {
    case 'sidecar':
      return { list: nativeSidecar ? 'initContainers' : 'containers', whole: true };
    case 'gateway':
    case 'grpc-agent':
      return { list: 'containers', whole: true };
    case 'grpc-simple':
      return podHasProxy ? { list: 'containers', whole: false } : undefined;
    default: {
      const custom = istioSettings(config).customTemplates[template];
      const named = (containers: V1Container[]) => containers.some((container) => container.name === proxyContainerName);
      if (custom && named(custom.containers)) return { list: 'containers', whole: false };
      if (custom && named(custom.initContainers)) return { list: 'initContainers', whole: false };
      return undefined;
    }
  }
}

/** The templates' renderings merged in order: Istio's "template pod", what the injection adds. */
export interface TemplatePod {
  initContainers: V1Container[];
  containers: V1Container[];
  volumes: V1Volume[];
  pullSecrets: boolean;
  /**
   * Each template's istio-proxy merged over the one before, wherever each template puts it: Istio
   * moves a proxy rendered as a container among the init containers when a later template makes it
   * a native sidecar, and merges that template's proxy over it there.
   */
  proxy?: V1Container;
}

export function renderTemplates(templates: readonly string[], input: TemplateInput): TemplatePod {
  let merged: TemplatePod = { initContainers: [], containers: [], volumes: [], pullSecrets: false };
  for (const template of templates) {
    const rendered = render(template, input);
    const { initContainers, containers, volumes } = strategicMerge(
      { initContainers: merged.initContainers, containers: merged.containers, volumes: merged.volumes },
      { initContainers: rendered.initContainers, containers: rendered.containers, volumes: rendered.volumes },
    );
    const proxy = [...rendered.containers, ...rendered.initContainers].find((container) => container.name === proxyContainerName);
    merged = {
      initContainers,
      containers,
      volumes,
      pullSecrets: merged.pullSecrets || rendered.pullSecrets,
      ...(proxy || merged.proxy ? { proxy: proxy && merged.proxy ? strategicMerge(merged.proxy, proxy) : (proxy ?? merged.proxy) } : {}),
    };
  }
  return merged;
}

/**
 * The templates' additions to the pod's own containers (the gRPC templates' variables and mounts,
 * grpc-simple's init container), merged over them; then the pod's own container is merged over the
 * result again, so its own settings win and the templates only add (Istio's reapplyOverwrittenContainers).
 * Returns the pod's containers that the templates touched, which Istio records as overrides.
 */
export function mergeIntoAppContainers(
  templatePod: TemplatePod,
  containers: V1Container[],
  initContainers: V1Container[] | undefined,
): { containers: V1Container[]; initContainers: V1Container[] | undefined; touched: V1Container[]; touchedInit: V1Container[] } {
  const appPatches = templatePod.containers.filter((container) => container.name !== proxyContainerName);
  const touched = appPatches.map((patch) => containers.find((container) => container.name === patch.name)).filter((found) => found !== undefined);
  // A container only a (custom) template has joins the pod's, where the merge puts it: first.
  const withTemplates = appPatches.length === 0 ? containers : strategicMerge({ containers }, { containers: appPatches }).containers;
  const mergedContainers = withTemplates.map((container) => {
    const mine = containers.find((candidate) => candidate.name === container.name);
    return mine && mine !== container ? strategicMerge(container, mine) : container;
  });
  // grpc-simple's init container joins the pod's; one of the pod's own with its name wins, field by field.
  const added = templatePod.initContainers.filter((container) => container.name !== proxyContainerName && !/^istio-(init|validation)$/.test(container.name));
  const own = initContainers ?? [];
  const touchedInit = added.map((patch) => own.find((container) => container.name === patch.name)).filter((found) => found !== undefined);
  let mergedInit = initContainers;
  if (added.length > 0) {
    const withTemplates = strategicMerge({ initContainers: own }, { initContainers: added }).initContainers;
    mergedInit = withTemplates.map((container) => {
      const mine = own.find((candidate) => candidate.name === container.name);
      return mine ? strategicMerge(container, mine) : container;
    });
  }
  return { containers: mergedContainers, initContainers: mergedInit, touched, touchedInit };
}
