// Whether a pod gets a sidecar, in the order of precedence Istio documents
// (https://istio.io/latest/docs/setup/additional-setup/sidecar-injection/#controlling-the-injection-policy):
// a disabled label on either the pod or the namespace wins, then an enabled one; revisions select by
// istio.io/rev unless istio-injection is set, which takes precedence over it.
import type { V1Pod } from '@kubernetes/client-node';
import type { InjectorConfig } from './config.ts';
import { annotationKeys, labelKeys } from './istio/istio-constants.ts';
import { selectorMatches } from './label-selectors.ts';
import { hasInjectionStatus } from './reinjection.ts';
import { describeServed, servedRevisions } from './revisions.ts';

export interface InjectionContext {
  /** The request's namespace; pods created by controllers often lack metadata.namespace. */
  namespace: string;
  /** The namespace's labels, or undefined when unknown (then the webhook's namespaceSelector has already chosen). */
  namespaceLabels: Record<string, string> | undefined;
  /** The webhook's own namespace, never injected so that the injector can always start. */
  webhookNamespace?: string;
  /** `switchboard inject`: like `istioctl kube-inject`, ignore namespace labels. */
  offline?: boolean;
}

export type DecisionCode =
  | 'already-injected'
  | 'host-network'
  | 'excluded-namespace'
  | 'webhook-namespace'
  | 'pod-opt-out'
  | 'pod-opt-in'
  | 'never-inject-selector'
  | 'always-inject-selector'
  | 'policy-disabled'
  | 'offline'
  | 'namespace-labels-unknown'
  | 'namespace-disabled'
  | 'namespace-enabled'
  | 'namespace-revision'
  | 'pod-revision'
  | 'other-revision'
  | 'not-selected';

export interface InjectionDecision {
  inject: boolean;
  /** A stable code for the rule that decided, fit for a metric label. */
  code: DecisionCode;
  /** The same in words, naming the label, annotation or namespace concerned. */
  reason: string;
  /** The pod carries sidecar.istio.io/status: injecting it again replaces the previous injection. */
  alreadyInjected: boolean;
}

type PodSelector = { choice: 'in' | 'out' | 'unset'; source: string; code?: DecisionCode };

const skip = (code: DecisionCode, reason: string): InjectionDecision => ({ inject: false, code, reason, alreadyInjected: false });
const inject = (code: DecisionCode, reason: string): InjectionDecision => ({ inject: true, code, reason, alreadyInjected: false });

export function decideInjection(pod: V1Pod, context: InjectionContext, config: InjectorConfig): InjectionDecision {
  const decision = decideForPod(pod, context, config);
  // Istio judges "already injected" by the status annotation alone, and injects such a pod again
  // (stripping the previous injection first); a pod's own istio-proxy container is an override.
  return hasInjectionStatus(pod) ? { ...decision, alreadyInjected: true } : decision;
}

function decideForPod(pod: V1Pod, context: InjectionContext, config: InjectorConfig): InjectionDecision {
  // The iptables rules would rewrite the node's own network namespace.
  if (pod.spec?.hostNetwork === true) return skip('host-network', 'hostNetwork pods are never injected: istio-init would redirect the node\'s traffic');
  const namespace = context.namespace || pod.metadata?.namespace || '';
  if (config.excludedNamespaces.includes(namespace)) return skip('excluded-namespace', `namespace ${namespace} is excluded from injection by the injector config`);
  if (context.webhookNamespace !== undefined && namespace === context.webhookNamespace) {
    return skip('webhook-namespace', `namespace ${namespace} runs the injector itself and is never injected`);
  }
  const selector = selectorWithInjectionSelectors(podSelector(pod), pod.metadata?.labels ?? {}, config);
  if (selector.choice === 'out') return skip(selector.code ?? 'pod-opt-out', `${selector.source} opts the pod out`);
  if (context.offline) {
    if (selector.choice === 'unset' && config.injectionPolicy === 'disabled') return policyDisabled();
    return selector.code ? inject(selector.code, `${selector.source} selects the pod`) : inject('offline', 'offline injection ignores namespace labels, like istioctl kube-inject');
  }
  return decideByNamespace(selector, pod, context.namespaceLabels, namespace, config);
}

function decideByNamespace(
  selector: PodSelector,
  pod: V1Pod,
  labels: Record<string, string> | undefined,
  namespace: string,
  config: InjectorConfig,
): InjectionDecision {
  if (labels === undefined) {
    // Istio itself never reads namespace labels: the MutatingWebhookConfiguration's selectors do.
    if (selector.choice === 'in') return inject(selector.code ?? 'pod-opt-in', `${selector.source} selects the pod`);
    if (config.injectionPolicy === 'disabled') return policyDisabled();
    return inject('namespace-labels-unknown', 'namespace labels unknown: the webhook\'s namespaceSelector has selected this pod');
  }
  const selection = namespaceSelection(pod, labels, namespace, config);
  if (selection.skip) return selection.skip;
  if (selector.choice === 'in') return inject(selector.code ?? 'pod-opt-in', `${selector.source} opts the pod in`);
  if (selection.byPodLabel) return inject(selection.code, selection.reason);
  if (config.injectionPolicy === 'disabled') return policyDisabled();
  return inject(selection.code, selection.reason);
}

type NamespaceSelection = { skip: InjectionDecision } | { skip?: undefined; code: DecisionCode; reason: string; byPodLabel: boolean };

/**
 * The pod reaches this injector as one of Istio's webhook entries would send it: by the namespace's
 * istio-injection=enabled (the default revision's), by the namespace's istio.io/rev (matched exactly,
 * never "exists"), or, in a namespace with neither, by the pod's own istio.io/rev or its
 * sidecar.istio.io/inject=true label (the default revision's).
 */
function namespaceSelection(pod: V1Pod, labels: Record<string, string>, namespace: string, config: InjectorConfig): NamespaceSelection {
  const served = servedRevisions(config);
  const injectionLabel = labels[labelKeys.namespaceInjection];
  const revisionLabel = labels[labelKeys.revision];
  const podLabels = pod.metadata?.labels ?? {};
  const podRevision = podLabels[labelKeys.revision];
  if (injectionLabel === 'disabled') return { skip: skip('namespace-disabled', `namespace ${namespace} has istio-injection=disabled`) };
  if (injectionLabel === 'enabled') {
    if (served.isDefault) return { code: 'namespace-enabled', reason: `namespace ${namespace} has istio-injection=enabled`, byPodLabel: false };
    return { skip: skip('other-revision', `namespace ${namespace} has istio-injection=enabled, which the default revision serves; this injector serves ${describeServed(served)}`) };
  }
  if (revisionLabel !== undefined) {
    if (served.names.has(revisionLabel)) return { code: 'namespace-revision', reason: `namespace ${namespace} has istio.io/rev=${revisionLabel}`, byPodLabel: false };
    return { skip: skip('other-revision', `namespace ${namespace} selects revision ${revisionLabel} with istio.io/rev; this injector serves ${describeServed(served)}`) };
  }
  if (podRevision !== undefined) {
    if (served.names.has(podRevision)) return { code: 'pod-revision', reason: `pod label istio.io/rev=${podRevision} selects this injector`, byPodLabel: true };
    return { skip: skip('other-revision', `pod label istio.io/rev=${podRevision} selects another revision; this injector serves ${describeServed(served)}`) };
  }
  if (podLabels[labelKeys.inject] === 'true' && served.isDefault) return { code: 'pod-opt-in', reason: `pod label ${labelKeys.inject}="true" opts the pod in`, byPodLabel: true };
  return {
    skip: skip(
      'not-selected',
      `neither namespace ${namespace} (istio-injection=enabled or istio.io/rev) nor the pod (label istio.io/rev, or sidecar.istio.io/inject=true for the default revision) selects this injector`,
    ),
  };
}

const policyDisabled = () =>
  skip('policy-disabled', 'the injection policy is disabled: only pods labelled sidecar.istio.io/inject=true or matching alwaysInjectSelector are injected');

/**
 * Only "true" and "false" choose, as Istio's injectRequired reads them; any other value (and an empty
 * label, which still hides the annotation) leaves the choice to the selectors and the namespace.
 */
function podSelector(pod: V1Pod): PodSelector {
  const labels = pod.metadata?.labels ?? {};
  const labelled = Object.hasOwn(labels, labelKeys.inject);
  const value = labelled ? labels[labelKeys.inject] : pod.metadata?.annotations?.[annotationKeys.inject];
  const source = labelled ? `pod label ${labelKeys.inject}="${value}"` : `pod annotation ${annotationKeys.inject}="${value}"`;
  if (value === 'true') return { choice: 'in', source };
  if (value === 'false') return { choice: 'out', source };
  return { choice: 'unset', source: '' };
}

/** Without an explicit choice, neverInjectSelector is tried first, then alwaysInjectSelector (Istio's order). */
function selectorWithInjectionSelectors(selector: PodSelector, labels: Record<string, string>, config: InjectorConfig): PodSelector {
  if (selector.choice !== 'unset') return selector;
  const never = config.neverInjectSelector.findIndex((candidate) => selectorMatches(candidate, labels));
  if (never >= 0) return { choice: 'out', source: `neverInjectSelector[${never}] of the injector config`, code: 'never-inject-selector' };
  const always = config.alwaysInjectSelector.findIndex((candidate) => selectorMatches(candidate, labels));
  if (always >= 0) return { choice: 'in', source: `alwaysInjectSelector[${always}] of the injector config`, code: 'always-inject-selector' };
  return selector;
}
