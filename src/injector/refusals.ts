// Every reason the injector refuses a pod, with a stable code that users and alerts can match on.

export const refusalCodes = {
  /** A container's own securityContext.runAsUser is the proxy's UID. */
  containerRunsAsProxyUid: 'ContainerRunsAsProxyUID',
  /** A container's own securityContext.runAsGroup is the proxy's GID. */
  containerRunsAsProxyGid: 'ContainerRunsAsProxyGID',
  /** The pod securityContext sets runAsUser to the proxy's UID (containers inherit it). */
  podRunsAsProxyUid: 'PodRunsAsProxyUID',
  /** The pod securityContext sets runAsGroup to the proxy's GID (containers inherit it). */
  podRunsAsProxyGid: 'PodRunsAsProxyGID',
  /** A sidecar.istio.io/*, traffic.sidecar.istio.io/* or proxy.istio.io/* annotation has a bad value. */
  invalidAnnotation: 'InvalidSidecarAnnotation',
  /** A proxy resource request would exceed its limit once annotations and config are combined. */
  proxyRequestAboveLimit: 'ProxyRequestAboveLimit',
  /** The pod's own istio-proxy container replaces the proxy's image or command. */
  proxyOverrideRunsOtherProgram: 'ProxyOverrideRunsOtherProgram',
  /** inject.istio.io/templates names a template this injector does not have. */
  unknownInjectionTemplate: 'UnknownInjectionTemplate',
  /** The object is not a pod the injector can read (missing spec, containers not a list, ...). */
  malformedPod: 'MalformedPod',
} as const;

export type RefusalCode = (typeof refusalCodes)[keyof typeof refusalCodes];

export interface Refusal {
  code: RefusalCode;
  /** Path of the offending field in the pod, e.g. spec.containers[1].securityContext.runAsUser. */
  field: string;
  /** The container concerned, when there is one. */
  container?: string;
  /** What is wrong, why it matters and what to do. */
  message: string;
}

/** `container "app": spec.containers[0].securityContext.runAsUser: message`, or without the container part. */
export function formatRefusal(refusal: Refusal, fieldPrefix = ''): string {
  const where = refusal.container === undefined ? '' : `container ${JSON.stringify(refusal.container)}: `;
  return `${where}${fieldPrefix}${refusal.field}: ${refusal.message}`;
}

export function annotationField(key: string): string {
  return `metadata.annotations[${JSON.stringify(key)}]`;
}

export function invalidAnnotation(key: string, value: string, expected: string): Refusal {
  return { code: refusalCodes.invalidAnnotation, field: annotationField(key), message: `annotation ${key} is ${JSON.stringify(value)}; expected ${expected}` };
}

/** Thrown by injectPod when asked to inject a pod whose annotations are refused. */
export class InjectionRefusedError extends Error {
  readonly refusals: Refusal[];
  constructor(refusals: Refusal[]) {
    super(refusals.map((refusal) => formatRefusal(refusal)).join('; '));
    this.name = 'InjectionRefusedError';
    this.refusals = refusals;
  }
}
