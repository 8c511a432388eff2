// Injection webhooks (SB19xx): the MutatingWebhookConfigurations of Istio's injectors (and of
// Switchboard's, which selects pods the same way) must send each pod to one injector at most, and
// to a Service that exists. Judged as Istio's analyzer judges them: every combination of the
// injection labels a namespace and a pod can carry, for every revision the webhooks name.
import type { V1LabelSelector } from '@kubernetes/client-node';
import { labelKeys } from '../../injector/istio/istio-constants.ts';
import { labelSelectorProblem, selectorMatches } from '../../injector/label-selectors.ts';
import { finding, type Finding } from '../finding.ts';
import { isRecord, records, stringMap, type MeshObject, type ObjectSet } from '../objects.ts';
import type { Rule } from '../rule.ts';

export const INVALID_WEBHOOK = { code: 'SB1901', name: 'InvalidWebhook', severity: 'error' } as const;

interface Webhook {
  configuration: MeshObject;
  index: number;
  name: string;
  entry: Record<string, unknown>;
}

/** "webhooks[2] (namespace.sidecar-injector.istio.io)" */
function describe(webhook: Webhook): string {
  return `webhooks[${webhook.index}] (${webhook.name})`;
}

function selectorOf(value: unknown): V1LabelSelector | undefined {
  if (!isRecord(value)) return undefined;
  return { matchLabels: stringMap(value.matchLabels), matchExpressions: records(value.matchExpressions) as unknown as V1LabelSelector['matchExpressions'] };
}

/** As the API server matches a webhook's selector: absent or empty selects everything, one it cannot read nothing. */
function webhookSelects(selector: V1LabelSelector | undefined, labels: Record<string, string>): boolean {
  if (selector === undefined || (Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0)) return true;
  if (labelSelectorProblem(selector) !== undefined) return false;
  return selectorMatches(selector, labels);
}

/** The istio.io/rev values a configuration names: its own label, and its selectors' values for that key. */
function revisionsOf(configuration: MeshObject): string[] {
  const revisions = new Set<string>();
  const own = configuration.metadata.labels?.[labelKeys.revision];
  if (own !== undefined) revisions.add(own);
  for (const entry of records(configuration.webhooks)) {
    for (const selector of [selectorOf(entry.namespaceSelector), selectorOf(entry.objectSelector)]) {
      const value = selector?.matchLabels?.[labelKeys.revision];
      if (value !== undefined) revisions.add(value);
      for (const requirement of selector?.matchExpressions ?? []) {
        if (requirement.key === labelKeys.revision) for (const item of requirement.values ?? []) revisions.add(item);
      }
    }
  }
  return [...revisions];
}

/** An injection webhook configuration: one that names a revision, or has a webhook of Istio's (named *istio.io). */
function injectionWebhooks(objects: ObjectSet): { webhooks: Webhook[]; revisions: Set<string> } {
  const webhooks: Webhook[] = [];
  const revisions = new Set<string>();
  for (const configuration of objects.ofKind('MutatingWebhookConfiguration')) {
    const entries = Array.isArray(configuration.webhooks) ? (configuration.webhooks as unknown[]) : [];
    const named = revisionsOf(configuration);
    if (named.length === 0 && !entries.some((entry) => isRecord(entry) && typeof entry.name === 'string' && entry.name.endsWith('istio.io'))) continue;
    named.forEach((revision) => revisions.add(revision));
    entries.forEach((entry, index) => {
      if (isRecord(entry)) webhooks.push({ configuration, index, name: typeof entry.name === 'string' ? entry.name : '', entry });
    });
  }
  return { webhooks, revisions };
}

/** The label sets Istio's analyzer tries: none, the injection label either way, each with every revision. */
function labelCombinations(key: string, values: readonly string[], revisions: ReadonlySet<string>): Record<string, string>[] {
  const base: Record<string, string>[] = [{}, ...values.map((value) => ({ [key]: value }))];
  return [...base, ...[...revisions].sort().flatMap((revision) => base.map((labels) => ({ ...labels, [labelKeys.revision]: revision })))];
}

/** "a pod without injection labels", "a namespace labelled istio-injection=enabled" */
function labelled(what: string, labels: Record<string, string>): string {
  const entries = Object.entries(labels);
  return entries.length === 0 ? `a ${what} without injection labels` : `a ${what} labelled ${entries.map(([key, value]) => `${key}=${value}`).join(',')}`;
}

const isSwitchboards = (webhook: Webhook) => webhook.name.endsWith('.switchboard.dev');

function overlapFindings(webhooks: readonly Webhook[], revisions: ReadonlySet<string>): Finding[] {
  // For each webhook: the others it shares pods with, and the first labels where they do.
  const overlaps = new Map<Webhook, Map<Webhook, { namespace: Record<string, string>; pod: Record<string, string> }>>();
  for (const namespace of labelCombinations(labelKeys.namespaceInjection, ['enabled', 'disabled'], revisions)) {
    for (const pod of labelCombinations(labelKeys.inject, ['true', 'false'], revisions)) {
      const matching = webhooks.filter((webhook) =>
        webhookSelects(selectorOf(webhook.entry.namespaceSelector), namespace) && webhookSelects(selectorOf(webhook.entry.objectSelector), pod));
      if (matching.length < 2) continue;
      for (const webhook of matching) {
        const others = overlaps.get(webhook) ?? new Map();
        for (const other of matching) if (other !== webhook && !others.has(other)) others.set(other, { namespace, pod });
        overlaps.set(webhook, others);
      }
    }
  }
  return [...overlaps].map(([webhook, others]) => {
    const [first] = others.values();
    const names = [...others.keys()].map((other) => `${other.configuration.metadata.name} ${describe(other)}`).sort();
    // Switchboard next to istiod is the middle of the documented hand-over from one injector to the other.
    const handOver = [webhook, ...others.keys()].some(isSwitchboards) && [webhook, ...others.keys()].some((item) => !isSwitchboards(item))
      ? ' (while Switchboard takes over from istiod\'s injector, until istiod\'s configuration is removed: docs/install.md, "Istio\'s own injector")'
      : '';
    return finding(INVALID_WEBHOOK, webhook.configuration,
      `${describe(webhook)} selects the same pods as ${names.join(', ')} (for one, ${labelled('pod', first?.pod ?? {})} ` +
      `in ${labelled('namespace', first?.namespace ?? {})}): each of them injects such a pod, so it is injected twice, ` +
      'and its creation waits on both injectors (and fails while either is down); keep one injector per revision' + handOver + ': delete the configuration ' +
      'of the injector you replaced, or narrow the selectors so that each combination of labels reaches one webhook');
  });
}

/**
 * Whether the input can tell that a Service is missing from a namespace: it holds Services of that
 * namespace, or the namespace was read from the cluster (with --cluster analyze lists its Services).
 */
function servicesListed(objects: ObjectSet, namespace: string): boolean {
  if (objects.ofKind('Service').some((service) => service.metadata.namespace === namespace)) return true;
  return objects.live && objects.find('Namespace', '', namespace)?.metadata.uid !== undefined;
}

function serviceFindings(objects: ObjectSet, webhooks: readonly Webhook[]): Finding[] {
  return webhooks.flatMap((webhook) => {
    const clientConfig = webhook.entry.clientConfig;
    const service = isRecord(clientConfig) && isRecord(clientConfig.service) ? clientConfig.service : undefined;
    // A webhook called by URL has no Service to check.
    if (service === undefined || typeof service.name !== 'string' || typeof service.namespace !== 'string') return [];
    const { name, namespace } = service;
    if (objects.find('Service', namespace, name) !== undefined || !servicesListed(objects, namespace)) return [];
    const ignore = webhook.entry.failurePolicy === 'Ignore';
    return [finding(INVALID_WEBHOOK, webhook.configuration,
      `${describe(webhook)}: clientConfig.service is ${namespace}/${name}, and there is no such Service: the API server cannot call the injector, so ` +
      (ignore ? 'pods it selects are created without a sidecar (failurePolicy: Ignore)' : 'pods it selects cannot be created (failurePolicy: Fail)') +
      '; install the control plane that serves it, correct clientConfig.service, or delete the configuration if that injector is gone')];
  });
}

export const webhookRule: Rule = {
  definitions: [INVALID_WEBHOOK],
  check(objects: ObjectSet): Finding[] {
    const { webhooks, revisions } = injectionWebhooks(objects);
    if (webhooks.length === 0) return [];
    return [...overlapFindings(webhooks, revisions), ...serviceFindings(objects, webhooks)];
  },
};
