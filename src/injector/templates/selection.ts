// inject.istio.io/templates: the injection templates that shape a pod, in order. Istio renders each
// one named (or values.sidecarInjectorWebhook.defaultTemplates when the pod names none) and merges
// each rendered pod over the one before, so "sidecar,sidecar" is "sidecar" and "sidecar,gateway" is
// a sidecar whose proxy the gateway template then reshapes.
import { annotationKeys } from '../istio/istio-constants.ts';
import { annotationField, refusalCodes, type Refusal } from '../refusals.ts';

/** The injection templates Istio's chart ships, all built in. */
export const injectionTemplates = ['sidecar', 'gateway', 'grpc-simple', 'grpc-agent'] as const;
export type InjectionTemplate = (typeof injectionTemplates)[number];

// Istio's chart also puts its gateway deployment templates in the injector's ConfigMap. They render a
// ServiceAccount and a Deployment from a Gateway, not a pod, and fail any pod that names them.
const deploymentTemplates = ['waypoint', 'kube-gateway', 'agentgateway', 'agentgateway-waypoint'];

export type TemplateChoice = { templates: InjectionTemplate[]; refusal?: undefined } | { templates?: undefined; refusal: Refusal };

export function isInjectionTemplate(name: string): name is InjectionTemplate {
  return (injectionTemplates as readonly string[]).includes(name);
}

/** The annotation's templates, else the configured defaults. */
export function selectTemplates(annotations: Record<string, string>, defaults: readonly InjectionTemplate[] = ['sidecar']): TemplateChoice {
  const text = annotations[annotationKeys.injectTemplates];
  if (text === undefined) return { templates: [...defaults] };
  // Istio splits on commas and trims each name; an empty name is a template it does not have.
  const names = text.split(',').map((name) => name.trim());
  const unknown = names.filter((name) => !isInjectionTemplate(name));
  if (unknown.length === 0) return { templates: names as InjectionTemplate[] };
  return { refusal: unknownTemplates(text, unknown) };
}

function unknownTemplates(text: string, unknown: string[]): Refusal {
  const deployment = unknown.filter((name) => deploymentTemplates.includes(name));
  const why =
    deployment.length > 0
      ? `${quoted(deployment)} ${deployment.length === 1 ? 'renders' : 'render'} a gateway's Deployment from a Gateway resource, not a pod`
      : `there is no template ${quoted(unknown)}`;
  return {
    code: refusalCodes.unknownInjectionTemplate,
    field: annotationField(annotationKeys.injectTemplates),
    message: `annotation ${annotationKeys.injectTemplates} is ${JSON.stringify(text)}: ${why}; the injection templates are ${quoted([...injectionTemplates])}, one or several separated by commas`,
  };
}

function quoted(names: readonly string[]): string {
  return names.map((name) => JSON.stringify(name)).join(', ');
}

/**
 * A native sidecar (an init container) followed by the gateway or grpc-agent template (a
 * container): Istio renders istio-proxy into both lists, a pod the API server refuses. In the
 * other order Istio moves the container among the init containers, and so does this injector.
 */
export function templateCombinationRefusal(templates: readonly InjectionTemplate[], nativeSidecar: boolean): Refusal | undefined {
  if (!nativeSidecar || !templates.includes('sidecar')) return undefined;
  const later = [...new Set(templates.slice(templates.indexOf('sidecar') + 1).filter((template) => template === 'gateway' || template === 'grpc-agent'))];
  if (later.length === 0) return undefined;
  return {
    code: refusalCodes.unknownInjectionTemplate,
    field: annotationField(annotationKeys.injectTemplates),
    message:
      `templates ${templates.join(',')} with a native sidecar: the sidecar template makes istio-proxy an init container and the later ${later.join(' and ')} ` +
      'a container, and a pod cannot have both; name the sidecar template last, set sidecar.istio.io/nativeSidecar: "false", or leave out one of them',
  };
}

/** The pod's own istio-proxy customises the proxy a template renders; grpc-simple renders none. */
export function rendersProxy(templates: readonly InjectionTemplate[]): boolean {
  return templates.some((template) => template !== 'grpc-simple');
}
