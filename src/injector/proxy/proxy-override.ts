// A pod's own istio-proxy container customises the injected one (Istio's reapplyOverwrittenContainers):
// it is merged over the proxy the way a strategic merge patch merges a container, so the pod can
// change args, resources, probes or the security context and keep everything else.
import type { V1Container, V1Pod, V1PodSpec } from '@kubernetes/client-node';
import { proxyContainerName } from '../istio/istio-constants.ts';
import { proxyImageReference } from './proxy-init.ts';
import type { InjectorConfig } from '../config.ts';
import { refusalCodes, type Refusal } from '../refusals.ts';
import { stripPreviousInjection } from '../reinjection.ts';
import type { SidecarSettings } from '../annotations.ts';
import { proxyRendering } from '../templates/render.ts';
import { placeProxy, rendersProxy } from '../templates/selection.ts';

/** Istio's placeholder: "use the injector's image". */
export const autoImage = 'auto';

export interface ProxyOverride {
  container: V1Container;
  /** Where it was, for messages. */
  field: string;
}

/** Takes the pod's own istio-proxy out of its container lists (it becomes part of the injected proxy). */
export function takeProxyOverride(spec: V1PodSpec): ProxyOverride | undefined {
  const index = spec.containers.findIndex((container) => container.name === proxyContainerName);
  if (index >= 0) {
    const container = spec.containers[index] as V1Container;
    spec.containers = spec.containers.filter((_, position) => position !== index);
    return { container, field: `spec.containers[${index}]` };
  }
  const initIndex = (spec.initContainers ?? []).findIndex((container) => container.name === proxyContainerName);
  if (initIndex < 0) return undefined;
  const container = (spec.initContainers as V1Container[])[initIndex] as V1Container;
  spec.initContainers = (spec.initContainers as V1Container[]).filter((_, position) => position !== initIndex);
  return { container, field: `spec.initContainers[${initIndex}]` };
}

/** The override of a pod as it will be injected: a previously injected proxy is not one. */
export function findProxyOverride(pod: V1Pod): ProxyOverride | undefined {
  const original = stripPreviousInjection(pod)?.pod ?? pod;
  return takeProxyOverride({ ...(original.spec as V1PodSpec) });
}

/**
 * The templates and the pod's own istio-proxy: grpc-simple adds to every container, the pod's
 * istio-proxy too, which may then end up in both container lists; and without a template that
 * renders the proxy, the pod's istio-proxy customises nothing and would run as written.
 */
export function templateProxyRefusals(override: ProxyOverride, config: InjectorConfig, settings?: Pick<SidecarSettings, 'templates' | 'nativeSidecar'>): Refusal[] {
  const templates = settings?.templates ?? ['sidecar'];
  const native = settings?.nativeSidecar ?? false;
  if (rendersProxy(templates)) {
    const placement = placeProxy(templates, native, (name) => proxyRendering(name, native, config, true));
    return placement.refusal ? [placement.refusal] : [];
  }
  return [
    {
      code: refusalCodes.proxyOverrideRunsOtherProgram,
      field: override.field,
      container: proxyContainerName,
      message: `the pod has its own istio-proxy container, but the templates ${templates.join(',')} render no proxy for it to customise; remove it, or add the sidecar template`,
    },
  ];
}

/**
 * Istio also lets the override replace the image or the command. Both would run a program of the
 * pod's choosing as the proxy's identity, whose traffic istio-init lets bypass the redirect: the
 * hole the UID/GID 1337 policy closes. So those two are refused; `image: auto` (Istio's gateway
 * chart) and the injector's own image are fine.
 */
export function proxyOverrideRefusals(override: ProxyOverride, config: InjectorConfig, settings?: Pick<SidecarSettings, 'templates' | 'nativeSidecar'>): Refusal[] {
  const refusals: Refusal[] = templateProxyRefusals(override, config, settings);
  const { container, field } = override;
  const image = container.image;
  if (image !== undefined && image !== '' && image !== autoImage && image !== proxyImageReference(config)) {
    refusals.push({
      code: refusalCodes.proxyOverrideRunsOtherProgram,
      field: `${field}.image`,
      container: proxyContainerName,
      message: `the pod's istio-proxy container sets image ${JSON.stringify(image)}: the proxy's traffic bypasses interception, so only the injector's proxy image may run as it; use image: auto, or set the image in the injector config`,
    });
  }
  if (container.command !== undefined && container.command.length > 0) {
    refusals.push({
      code: refusalCodes.proxyOverrideRunsOtherProgram,
      field: `${field}.command`,
      container: proxyContainerName,
      message: 'the pod\'s istio-proxy container sets command: the proxy\'s traffic bypasses interception, so it must run pilot-agent; override args instead',
    });
  }
  return refusals;
}

type Json = Record<string, unknown>;

// Lists of a container that a strategic merge patch merges element by element, and their keys.
const mergeKeys: Record<string, string> = { env: 'name', ports: 'containerPort', volumeMounts: 'mountPath', volumeDevices: 'devicePath', resizePolicy: 'resourceName' };

/** The override's fields win; mappings merge recursively, keyed lists by key, other lists are replaced. */
export function mergeProxyOverride(proxy: V1Container, override: V1Container): V1Container {
  const { image, ...rest } = override;
  const overlay: Json = image === autoImage || image === '' || image === undefined ? rest : { ...rest, image };
  const merged: Json = { ...(proxy as unknown as Json) };
  for (const [key, value] of Object.entries(overlay)) {
    if (value === undefined || value === null) continue;
    const current = merged[key];
    const mergeKey = mergeKeys[key];
    if (mergeKey && Array.isArray(value) && Array.isArray(current)) merged[key] = mergeKeyedList(current as Json[], value as Json[], mergeKey);
    else merged[key] = mergeValue(current, value);
  }
  return merged as unknown as V1Container;
}

function mergeValue(current: unknown, value: unknown): unknown {
  if (!isMapping(current) || !isMapping(value)) return value;
  const merged: Json = { ...current };
  for (const [key, entry] of Object.entries(value)) merged[key] = entry === null ? undefined : mergeValue(current[key], entry);
  return Object.fromEntries(Object.entries(merged).filter(([, entry]) => entry !== undefined));
}

function mergeKeyedList(current: Json[], overlay: Json[], key: string): Json[] {
  const result = current.map((item) => {
    const match = overlay.find((candidate) => candidate[key] === item[key]);
    return match ? (mergeValue(item, match) as Json) : item;
  });
  const added = overlay.filter((candidate) => !current.some((item) => item[key] === candidate[key]));
  return [...result, ...added];
}

function isMapping(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The UID istio-init exempts from the redirect. Istio follows an override's runAsUser (so the proxy
 * may run as another user), except root, which iptables cannot exempt, and TPROXY, where the proxy
 * must run as root and the exempt UID stays 1337.
 */
export function exemptProxyUid(override: V1Container | undefined, tproxy: boolean, defaultUid: number): number {
  const runAsUser = override?.securityContext?.runAsUser;
  if (tproxy || runAsUser === undefined || runAsUser === null || runAsUser === 0) return defaultUid;
  return runAsUser;
}

/**
 * Istio records the overrides in proxy.istio.io/overrides on first injection, so that tools (and a
 * re-injection) can tell the pod's own settings from the templates': every container of the pod that
 * a template also renders (the proxy, and the app containers the gRPC templates add to). `image: auto`
 * is left out. Nothing is recorded when there is nothing to record.
 */
export function overrideAnnotation(overrides: { containers: V1Container[]; initContainers: V1Container[] }): Record<string, string> {
  const recorded = (container: V1Container) => {
    const { image, ...rest } = container;
    return image === autoImage || image === '' || image === undefined ? rest : { ...rest, image };
  };
  const { containers, initContainers } = overrides;
  if (containers.length === 0 && initContainers.length === 0) return {};
  const value = {
    ...(containers.length > 0 ? { containers: containers.map(recorded) } : {}),
    ...(initContainers.length > 0 ? { initContainers: initContainers.map(recorded) } : {}),
  };
  return { 'proxy.istio.io/overrides': JSON.stringify(value) };
}
