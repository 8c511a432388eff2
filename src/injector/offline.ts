// Offline injection of manifests (`switchboard inject`), like `istioctl kube-inject`: every pod
// template is injected whatever its namespace's labels, unless the pod opts out or uses hostNetwork.
// Documents without pods pass through. Any refusal means no output at all, so that a pipe into
// `kubectl apply` never applies half a set of manifests.
import type { V1Pod } from '@kubernetes/client-node';
import { isCollection, isNode, isScalar, parseAllDocuments, visit, type Document, type Node } from 'yaml';
import { resolveSidecarSettings } from './annotations.ts';
import type { InjectorConfig } from './config.ts';
import { decideInjection } from './decide.ts';
import { injectPod } from './inject.ts';
import { podPatch } from './json-patch.ts';
import { podShapeProblem } from './pod-shape.ts';
import { proxyUid } from './istio/istio-constants.ts';
import { exemptProxyUid, findProxyOverride, proxyOverrideRefusals } from './proxy/proxy-override.ts';
import { checkProxyIdentity, formatAllowance, proxyIdentityOptIn } from './policy.ts';
import { formatRefusal, type Refusal } from './refusals.ts';
import { workloadOfPod } from './workload-identity.ts';
import { findPodTemplates, runsToCompletion, valueAt, type PodTemplateLocation } from './workloads.ts';
import { applyOperationsToDocument } from './yaml-document-patch.ts';

export interface OfflineInjectionResult {
  /** The YAML documents, injected where they hold pods, separated by `---`; '' when errors is not empty. */
  output: string;
  /** One line per problem: `<kind>/<name>: container "<c>": <field>: <message>`. */
  errors: string[];
  /** Adjustments made while injecting (`<kind>/<name>: <message>`), for stderr; they do not fail the command. */
  warnings: string[];
}

export interface OfflineInjectionOptions {
  /**
   * The namespace of documents that set none, as `kubectl apply -n` would put them there; the
   * injector's decisions (excluded namespaces) and the proxy's owner depend on it. Unset, such a
   * document is judged as namespace-less and its workload named in "default".
   */
  namespace?: string;
  /** Set when the namespace was given with -n: a document in another namespace is refused, as kubectl refuses it. */
  namespaceRequired?: boolean;
}

/** A pod's location with the namespace it is judged in; namespaceConflict when -n and the document disagree. */
type NamespacedLocation = PodTemplateLocation & { namespaceConflict?: string };

export function injectManifests(text: string, config: InjectorConfig, options: OfflineInjectionOptions = {}): OfflineInjectionResult {
  const documents = parseAllDocuments(text);
  // Only comments, or nothing: there is no document to inject.
  if (documents.length === 0) return { output: text, errors: [], warnings: [] };
  const errors: string[] = [];
  const warnings: string[] = [];
  const changed = new Set<Document>();
  documents.forEach((document, index) => {
    const [yamlError] = document.errors;
    if (yamlError) {
      errors.push(`document ${index + 1}: not valid YAML: ${yamlError.message}`);
      return;
    }
    const manifest: unknown = document.toJS();
    const locations = findPodTemplates(manifest);
    const original = locations.length === 0 ? new Set<Node>() : nodesOf(document);
    const flowRoot = isCollection(document.contents) && document.contents.flow === true;
    for (const location of locations) {
      const outcome = injectTemplate(document, manifest, inNamespace(location, options), config, warnings);
      if (outcome === 'injected') changed.add(document);
      else errors.push(...outcome);
    }
    if (changed.has(document)) {
      if (flowRoot) printInBlockStyle(document);
      else printChangesInBlockStyle(document, original);
    }
  });
  if (errors.length > 0) return { output: '', errors, warnings };
  return { output: renderDocuments(text, documents, changed), errors, warnings };
}

/** Injects one pod or pod template in place in the document; returns error lines instead when refused. */
function injectTemplate(document: Document, manifest: unknown, location: NamespacedLocation, config: InjectorConfig, warnings: string[]): 'injected' | string[] {
  const { workload, fieldPrefix } = location;
  const describe = (line: string) => `${workload.kind}/${workload.name}: ${line}`;
  const template = valueAt(manifest, location.path) as Record<string, unknown>;
  const pod = (location.isPod ? template : { metadata: template.metadata ?? {}, spec: template.spec }) as V1Pod;
  const shapeProblem = podShapeProblem(pod);
  if (shapeProblem) return [describe(`${fieldPrefix}${shapeProblem}`)];
  if (location.namespaceConflict !== undefined) return [describe(location.namespaceConflict)];

  const decision = decideInjection(pod, { namespace: location.declaredNamespace, namespaceLabels: undefined, offline: true }, config);
  if (!decision.inject) return [];
  const refused = (refusals: Refusal[]) => refusals.map((refusal) => describe(formatRefusal(refusal, fieldPrefix)));
  const resolved = resolveSidecarSettings(pod.metadata?.annotations, config);
  const override = findProxyOverride(pod);
  // The same opt-in as the webhook's: the namespace the document will be applied to, by name.
  const policy = { exemptId: exemptProxyUid(override?.container, resolved.settings.interceptionMode === 'TPROXY', proxyUid), ...proxyIdentityOptIn(location.declaredNamespace, config) };
  const identity = checkProxyIdentity(pod, policy);
  const violations = [...resolved.refusals, ...(override ? proxyOverrideRefusals(override, config, resolved.settings) : []), ...identity.refusals];
  if (violations.length > 0) return refused(violations);
  const { settings } = resolved;
  warnings.push(...resolved.warnings.map(describe), ...identity.allowances.map((allowed) => describe(formatAllowance(allowed))));

  // A Pod manifest names its workload through ownerReferences, as a pod sent to the webhook does.
  const owner = location.isPod ? workloadOfPod(pod, location.declaredNamespace) : workload;
  const injected = injectPod(pod, config, { settings, workload: owner });
  if (runsToCompletion(location, pod) && injected.spec?.containers.some((container) => container.name === 'istio-proxy')) {
    warnings.push(describe(classicSidecarInJob(location, pod)));
  }
  const replacement = location.isPod ? injected : { ...template, metadata: injected.metadata, spec: injected.spec };
  try {
    applyOperationsToDocument(document, location.path, podPatch(template, replacement));
  } catch (error) {
    return [describe(`cannot rewrite this YAML (${(error as Error).message}); anchors and aliases inside pod templates are not supported`)];
  }
  return 'injected';
}

/**
 * The location as if its document said `namespace` when it says none; with -n, a document that
 * names another namespace is refused, as `kubectl apply -n` refuses it.
 */
function inNamespace(location: PodTemplateLocation, options: OfflineInjectionOptions): NamespacedLocation {
  const { namespace } = options;
  if (namespace === undefined || namespace === '') return location;
  const declared = location.declaredNamespace;
  if (declared === '') return { ...location, declaredNamespace: namespace, workload: { ...location.workload, namespace } };
  if (options.namespaceRequired !== true || declared === namespace) return location;
  return {
    ...location,
    namespaceConflict: `metadata.namespace is "${declared}" but -n is "${namespace}"; drop -n, or pass -n ${declared} (kubectl apply -n ${namespace} refuses this document too)`,
  };
}

/**
 * A classic istio-proxy keeps running after the app's containers exit, so a pod that should run
 * to completion never does, and its Job never finishes. A native sidecar is stopped by the kubelet.
 */
function classicSidecarInJob(location: PodTemplateLocation, pod: V1Pod): string {
  const policy = pod.spec?.restartPolicy;
  const what = location.workload.kind === 'CronJob' ? 'its Jobs never complete' : location.workload.kind === 'Job' ? 'the Job never completes' : 'the pod never completes';
  return `runs to completion${policy ? ` (restartPolicy ${policy})` : ''}, but istio-proxy was injected as a classic sidecar, ` +
    `which keeps running after the app exits, so ${what}; inject a native sidecar instead: nativeSidecars: true in the injector config, ` +
    `or ${location.fieldPrefix}metadata.annotations["sidecar.istio.io/nativeSidecar"]: "true"`;
}

function nodesOf(document: Document): Set<Node> {
  const nodes = new Set<Node>();
  visit(document, (_key, node) => {
    if (isNode(node)) nodes.add(node);
  });
  return nodes;
}

/**
 * New nodes, and the collections that hold them, print in block style. In a flow-style or JSON
 * document they would otherwise inherit flow style and the injected pod would come out as one line
 * of several kilobytes; collections injection did not touch keep the style they were written in,
 * and empty ones stay `{}` and `[]`.
 */
function printChangesInBlockStyle(document: Document, original: ReadonlySet<Node>): void {
  visit(document, (_key, node, path) => {
    if (!isNode(node) || original.has(node)) return;
    for (const holder of [...path, node]) if (isCollection(holder) && holder.items.length > 0) holder.flow = false;
  });
}

/**
 * A document written wholly in flow style (JSON, or YAML in braces) is printed again as plain
 * block YAML: keeping its layout would keep nothing readable. Quotes stay only where a plain
 * scalar would read as another type ("8080", "true").
 */
function printInBlockStyle(document: Document): void {
  visit(document, (_key, node) => {
    if (isCollection(node) && node.items.length > 0) node.flow = false;
    else if (isScalar(node) && typeof node.value === 'string') node.type = undefined;
  });
}

/**
 * Whether the input writes block sequences indented under their key (`key:\n  - a`) or level with it
 * (`key:\n- a`, kubectl's style). The output follows the first one found, so that a diff between input
 * and output shows only what injection added.
 */
export function indentsSequences(text: string): boolean {
  const level = /^( *)[^\s#-][^\n]*:[ \t]*(?:#[^\n]*)?\n\1- /m.exec(text);
  const indented = /^( *)[^\s#-][^\n]*:[ \t]*(?:#[^\n]*)?\n\1 +- /m.exec(text);
  if (!level) return true;
  return indented !== null && indented.index < level.index;
}

/** Untouched documents are copied from the input byte for byte; injected ones are printed again. */
function renderDocuments(text: string, documents: Document[], changed: ReadonlySet<Document>): string {
  const indentSeq = indentsSequences(text);
  return documents
    .map((document, index) => {
      if (changed.has(document)) return document.toString({ lineWidth: 0, indentSeq, flowCollectionPadding: false });
      // A document's range starts at its `---`; comments above the first one belong to it.
      const start = index === 0 ? 0 : (document.range?.[0] ?? 0);
      const end = documents[index + 1]?.range?.[0] ?? text.length;
      return text.slice(start, end);
    })
    .join('');
}
