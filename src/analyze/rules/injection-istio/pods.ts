// The pods analyze can judge for injection, and whether each will get a sidecar: the injector's own
// decision for what the pod says (hostNetwork, opt-out, excluded namespaces), then the selectors of
// Istio's injection webhooks for what its namespace says, when the namespace is in the input.
import type { V1Pod } from '@kubernetes/client-node';
import { defaultInjectorConfig, type InjectorConfig } from '../../../injector/config.ts';
import { decideInjection, type InjectionDecision } from '../../../injector/decide.ts';
import { labelKeys } from '../../../injector/istio/istio-constants.ts';
import { servedRevisions } from '../../../injector/revisions.ts';
import { findPodTemplates, valueAt } from '../../../injector/workloads.ts';
import { isRecord, type MeshObject, type ObjectSet } from '../../objects.ts';
import { isSwitchboardRollout } from '../../rollout-references.ts';
import type { InjectorValues } from '../../rule.ts';

export interface JudgedPod {
  /** The object findings are about: the Pod itself, or the workload holding the template. */
  object: MeshObject;
  /** The Pod, or the template as a pod ({metadata, spec}). */
  pod: V1Pod;
  /** Turns a pod field path into the object's, e.g. "spec.template.". */
  fieldPrefix: string;
  isPod: boolean;
}

function podsOf(object: MeshObject): JudgedPod[] {
  if (isSwitchboardRollout(object)) {
    const template = object.spec?.template;
    return isRecord(template) ? [{ object, pod: asPod(template), fieldPrefix: 'spec.template.', isPod: false }] : [];
  }
  return findPodTemplates(object).flatMap((location) => {
    const value = valueAt(object, location.path);
    if (!isRecord(value)) return [];
    return [{ object, pod: location.isPod ? (value as V1Pod) : asPod(value), fieldPrefix: location.fieldPrefix, isPod: location.isPod }];
  });
}

function asPod(template: Record<string, unknown>): V1Pod {
  return { metadata: isRecord(template.metadata) ? template.metadata : {}, spec: template.spec } as V1Pod;
}

/** A pod made by a controller that is also in the set is judged once, through its controller's template. */
function ownedByController(object: MeshObject, objects: ObjectSet): boolean {
  return (object.metadata.ownerReferences ?? [])
    .some((owner) => owner.controller === true && objects.find(owner.kind, object.metadata.namespace, owner.name) !== undefined);
}

export function judgedPods(objects: ObjectSet): JudgedPod[] {
  return objects.all.filter((object) => !ownedByController(object, objects)).flatMap(podsOf);
}

/** The object holds pod templates (or is a Pod): the kinds whose own metadata is not the pods'. */
export function holdsPods(object: MeshObject): boolean {
  return podsOf(object).length > 0;
}

/**
 * A Pod that the API server has already admitted (read from a cluster, or saved from one): the
 * webhook has had its chance, whereas a Pod in a manifest is still to be created.
 */
export function alreadyCreated(object: MeshObject): boolean {
  return object.kind === 'Pod' && (object.status !== undefined || object.metadata.uid !== undefined || object.metadata.creationTimestamp !== undefined);
}

/**
 * Whether istiod is installed with sidecarInjectorWebhook.enableNamespacesByDefault: then a namespace
 * without labels is injected. --values-file says so for the revision it serves, when that is the
 * default one (the chart adds the webhook for unlabelled namespaces to the default revision only);
 * otherwise the injector ConfigMap's values say, as Istio's analyzer reads them.
 */
export function namespacesInjectedByDefault(objects: ObjectSet, injector?: InjectorValues): boolean {
  return injectedByDefaultSource(objects, injector) !== undefined;
}

/** What says that unlabelled namespaces are injected ("--values-file values.yaml", or the ConfigMap), if anything does. */
export function injectedByDefaultSource(objects: ObjectSet, injector?: InjectorValues): string | undefined {
  if (injector !== undefined && servesDefaultRevision(injector)) {
    const webhook = injector.values.sidecarInjectorWebhook;
    return isRecord(webhook) && webhook.enableNamespacesByDefault === true ? injector.source : undefined;
  }
  let known = injectedByDefault.get(objects);
  if (known === undefined) {
    known = { source: enablingConfigMap(objects) };
    injectedByDefault.set(objects, known);
  }
  return known.source;
}

const injectedByDefault = new WeakMap<ObjectSet, { source: string | undefined }>();

/** The values' revision is the default one, or they tag it "default" (revisionTags). */
export function servesDefaultRevision(injector: InjectorValues): boolean {
  return servedRevisions(injectorWithTags(injector)).isDefault;
}

/** The injector config with the values' revisionTags, which applyIstioConfiguration leaves to Switchboard's config. */
export function injectorWithTags(injector: InjectorValues): InjectorConfig {
  const tags = Array.isArray(injector.values.revisionTags) ? injector.values.revisionTags.filter((tag): tag is string => typeof tag === 'string') : [];
  return { ...injector.config, revisionTags: [...injector.config.revisionTags, ...tags] };
}

function enablingConfigMap(objects: ObjectSet): string | undefined {
  const configMap = objects.ofKind('ConfigMap').find((candidate) => {
    if (!/^istio-sidecar-injector(-.+)?$/.test(candidate.metadata.name)) return false;
    const values = isRecord(candidate.data) ? candidate.data.values : undefined;
    if (typeof values !== 'string') return false;
    try {
      const parsed: unknown = JSON.parse(values);
      const webhook = isRecord(parsed) ? parsed.sidecarInjectorWebhook : undefined;
      return isRecord(webhook) && webhook.enableNamespacesByDefault === true;
    } catch {
      return false;
    }
  });
  return configMap === undefined ? undefined : `ConfigMap ${configMap.metadata.namespace}/${configMap.metadata.name}`;
}

/** What the pod itself says, as the injector reads it offline: hostNetwork, opt-out, excluded namespaces. */
export function podDecision(pod: V1Pod, namespace: string): InjectionDecision {
  return decideInjection(pod, { namespace, namespaceLabels: undefined, offline: true }, defaultInjectorConfig());
}

/** The labels by which Istio's object webhooks select a pod in a namespace that has no injection label. */
export function podOptsIn(pod: V1Pod): boolean {
  const labels = pod.metadata?.labels ?? {};
  return labels[labelKeys.revision] !== undefined || labels[labelKeys.inject] === 'true';
}

export type InjectionOutlook = { injected: true } | { injected: false; reason: string } | { injected: 'unknown' };

/**
 * Whether the pod will get a sidecar. The namespace part follows the selectors of Istio's standard
 * webhooks, for any revision (analyze does not know which revisions run): istio-injection=enabled;
 * else any other istio-injection value selects nothing; else the namespace's istio.io/rev; else the
 * pod's istio.io/rev or its sidecar.istio.io/inject=true label. Without the namespace, only what the
 * pod says can tell.
 */
export function injectionOutlook(pod: V1Pod, namespace: string, objects: ObjectSet, injector?: InjectorValues): InjectionOutlook {
  const decision = podDecision(pod, namespace);
  if (!decision.inject) return { injected: false, reason: decision.reason };
  const namespaceObject = objects.find('Namespace', '', namespace);
  if (namespaceObject === undefined) return { injected: 'unknown' };
  const labels = namespaceObject.metadata.labels ?? {};
  const injection = labels[labelKeys.namespaceInjection];
  if (injection === 'enabled') return { injected: true };
  if (injection !== undefined) {
    return { injected: false, reason: `namespace ${namespace} has ${labelKeys.namespaceInjection}=${injection}, which no injection webhook selects` };
  }
  if (labels[labelKeys.revision] !== undefined) return { injected: true };
  if (namespacesInjectedByDefault(objects, injector)) return { injected: 'unknown' };
  if (podOptsIn(pod)) return { injected: true };
  return {
    injected: false,
    reason: `namespace ${namespace} has neither ${labelKeys.namespaceInjection}=enabled nor ${labelKeys.revision}, ` +
      `and the pod has neither the label ${labelKeys.revision} nor ${labelKeys.inject}="true"`,
  };
}
