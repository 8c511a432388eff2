// Offline injection of manifests (`switchboard inject`), like `istioctl kube-inject`: every pod
// template is injected whatever its namespace's labels, unless the pod opts out or uses hostNetwork.
// Documents without pods pass through. Any refusal means no output at all, so that a pipe into
// `kubectl apply` never applies half a set of manifests.
import type { V1Pod } from '@kubernetes/client-node';
import { parseAllDocuments, type Document } from 'yaml';
import { resolveSidecarSettings } from './annotations.ts';
import type { InjectorConfig } from './config.ts';
import { decideInjection } from './decide.ts';
import { injectPod } from './inject.ts';
import { podPatch } from './json-patch.ts';
import { podShapeProblem } from './pod-shape.ts';
import { proxyUid } from './istio-constants.ts';
import { exemptProxyUid, findProxyOverride, proxyOverrideRefusals } from './proxy-override.ts';
import { findProxyIdentityViolations } from './policy.ts';
import { formatRefusal, type Refusal } from './refusals.ts';
import { workloadOfPod } from './workload-identity.ts';
import { findPodTemplates, valueAt, type PodTemplateLocation } from './workloads.ts';
import { applyOperationsToDocument } from './yaml-document-patch.ts';

export interface OfflineInjectionResult {
  /** The YAML documents, injected where they hold pods, separated by `---`; '' when errors is not empty. */
  output: string;
  /** One line per problem: `<kind>/<name>: container "<c>": <field>: <message>`. */
  errors: string[];
  /** Adjustments made while injecting (`<kind>/<name>: <message>`), for stderr; they do not fail the command. */
  warnings: string[];
}

export function injectManifests(text: string, config: InjectorConfig): OfflineInjectionResult {
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
    for (const location of findPodTemplates(manifest)) {
      const outcome = injectTemplate(document, manifest, location, config, warnings);
      if (outcome === 'injected') changed.add(document);
      else errors.push(...outcome);
    }
  });
  if (errors.length > 0) return { output: '', errors, warnings };
  return { output: renderDocuments(text, documents, changed), errors, warnings };
}

/** Injects one pod or pod template in place in the document; returns error lines instead when refused. */
function injectTemplate(document: Document, manifest: unknown, location: PodTemplateLocation, config: InjectorConfig, warnings: string[]): 'injected' | string[] {
  const { workload, fieldPrefix } = location;
  const describe = (line: string) => `${workload.kind}/${workload.name}: ${line}`;
  const template = valueAt(manifest, location.path) as Record<string, unknown>;
  const pod = (location.isPod ? template : { metadata: template.metadata ?? {}, spec: template.spec }) as V1Pod;
  const shapeProblem = podShapeProblem(pod);
  if (shapeProblem) return [describe(`${fieldPrefix}${shapeProblem}`)];

  const decision = decideInjection(pod, { namespace: location.declaredNamespace, namespaceLabels: undefined, offline: true }, config);
  if (!decision.inject) return [];
  const refused = (refusals: Refusal[]) => refusals.map((refusal) => describe(formatRefusal(refusal, fieldPrefix)));
  const resolved = resolveSidecarSettings(pod.metadata?.annotations, config);
  const override = findProxyOverride(pod);
  const policy = { exemptId: exemptProxyUid(override?.container, resolved.settings.interceptionMode === 'TPROXY', proxyUid) };
  const violations = [...resolved.refusals, ...(override ? proxyOverrideRefusals(override, config) : []), ...findProxyIdentityViolations(pod, policy)];
  if (violations.length > 0) return refused(violations);
  const { settings } = resolved;
  warnings.push(...resolved.warnings.map(describe));

  // A Pod manifest names its workload through ownerReferences, as a pod sent to the webhook does.
  const owner = location.isPod ? workloadOfPod(pod, location.declaredNamespace) : workload;
  const injected = injectPod(pod, config, { settings, workload: owner });
  const replacement = location.isPod ? injected : { ...template, metadata: injected.metadata, spec: injected.spec };
  try {
    applyOperationsToDocument(document, location.path, podPatch(template, replacement));
  } catch (error) {
    return [describe(`cannot rewrite this YAML (${(error as Error).message}); anchors and aliases inside pod templates are not supported`)];
  }
  return 'injected';
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
