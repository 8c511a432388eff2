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
export const deploymentTemplates = ['waypoint', 'kube-gateway', 'agentgateway', 'agentgateway-waypoint'];

export type TemplateChoice = { templates: string[]; refusal?: undefined } | { templates?: undefined; refusal: Refusal };

export function isInjectionTemplate(name: string): name is InjectionTemplate {
  return (injectionTemplates as readonly string[]).includes(name);
}

/** The annotation's templates, else the configured defaults; custom: the static templates configured. */
export function selectTemplates(annotations: Record<string, string>, defaults: readonly string[] = ['sidecar'], custom: readonly string[] = []): TemplateChoice {
  const text = annotations[annotationKeys.injectTemplates];
  if (text === undefined) return { templates: [...defaults] };
  // Istio splits on commas and trims each name; an empty name is a template it does not have.
  const names = text.split(',').map((name) => name.trim());
  const unknown = names.filter((name) => !isInjectionTemplate(name) && !custom.includes(name));
  if (unknown.length === 0) return { templates: names };
  return { refusal: unknownTemplates(text, unknown, custom) };
}

function unknownTemplates(text: string, unknown: string[], custom: readonly string[]): Refusal {
  const deployment = unknown.filter((name) => deploymentTemplates.includes(name));
  const why =
    deployment.length > 0
      ? `${quoted(deployment)} ${deployment.length === 1 ? 'renders' : 'render'} a gateway's Deployment from a Gateway resource, not a pod`
      : `there is no template ${quoted(unknown)}`;
  return {
    code: refusalCodes.unknownInjectionTemplate,
    field: annotationField(annotationKeys.injectTemplates),
    message: `annotation ${annotationKeys.injectTemplates} is ${JSON.stringify(text)}: ${why}; the injection templates are ${quoted([...injectionTemplates, ...custom])}, one or several separated by commas`,
  };
}

function quoted(names: readonly string[]): string {
  return names.map((name) => JSON.stringify(name)).join(', ');
}

/** Where a template puts istio-proxy: a whole proxy, or (a custom template) fields merged into it. */
export interface ProxyRendering {
  list: 'containers' | 'initContainers';
  whole: boolean;
}

export interface ProxyPlacement {
  /** Where the merged pod has istio-proxy, when a template renders it. */
  list?: 'containers' | 'initContainers';
  refusal?: Refusal;
}

/**
 * Where istio-proxy ends up, following Istio's merge: each template's proxy goes where the template
 * puts it, and a proxy already among the containers moves among the init containers when a template
 * makes it a native sidecar. A native sidecar followed by a template that renders istio-proxy as a
 * container leaves it in both lists, and a template that only adds fields to istio-proxy leaves a
 * container without an image when no template renders the proxy: pods the API server refuses.
 */
export function placeProxy(templates: readonly string[], nativeSidecar: boolean, rendering: (template: string) => ProxyRendering | undefined): ProxyPlacement {
  const lists = new Set<'containers' | 'initContainers'>();
  let templateHasNativeProxy = false;
  let whole = false;
  const field = annotationField(annotationKeys.injectTemplates);
  for (const template of templates) {
    const proxy = rendering(template);
    if (!proxy) continue;
    whole ||= proxy.whole;
    templateHasNativeProxy ||= proxy.list === 'initContainers';
    if (nativeSidecar && templateHasNativeProxy && lists.delete('containers')) lists.add('initContainers');
    lists.add(proxy.list);
    if (lists.size > 1) {
      return {
        refusal: {
          code: refusalCodes.unknownInjectionTemplate,
          field,
          message:
            `templates ${templates.join(',')}${nativeSidecar ? ' with a native sidecar' : ''}: ${template} renders istio-proxy as ${proxy.list === 'containers' ? 'a container' : 'an init container'} ` +
            `after another template made it ${proxy.list === 'containers' ? 'an init container' : 'a container'}, and a pod cannot have both; ` +
            'name the sidecar template last, set sidecar.istio.io/nativeSidecar, or leave out one of them',
        },
      };
    }
  }
  if (lists.size > 0 && !whole) {
    return {
      refusal: {
        code: refusalCodes.unknownInjectionTemplate,
        field,
        message: `templates ${templates.join(',')}: istio-proxy gets fields from a template, but no template renders the proxy itself; add the sidecar template`,
      },
    };
  }
  const [list] = lists;
  return list ? { list } : {};
}

/** The pod's own istio-proxy customises the proxy a template renders; grpc-simple renders none. */
export function rendersProxy(templates: readonly string[]): boolean {
  return templates.some((template) => template === 'sidecar' || template === 'gateway' || template === 'grpc-agent');
}
