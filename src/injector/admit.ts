// Contract between the pure injector core and the webhook transport.
// The transport (src/webhook/) parses AdmissionReview and calls admitPod; everything here is pure.
import type { V1Container, V1Pod, V1EphemeralContainer } from '@kubernetes/client-node';
import type { Operation } from 'rfc6902';
import { resolveSidecarSettings, type SidecarEnvironment } from './annotations.ts';
import type { InjectorConfig } from './config.ts';
import { decideInjection, type InjectionDecision } from './decide.ts';
import { injectPod } from './inject.ts';
import { annotationKeys, labelKeys, proxyUid } from './istio/istio-constants.ts';
import { injectionPatch } from './json-patch.ts';
import { podShapeProblem } from './pod-shape.ts';
import { exemptProxyUid, findProxyOverride, proxyOverrideRefusals } from './proxy/proxy-override.ts';
import { checkProxyIdentity, findProxyIdentityViolations, formatAllowance, proxyIdentityOptIn, type PolicyScope, type ProxyIdentityAllowance } from './policy.ts';
import { formatRefusal, refusalCodes, type Refusal } from './refusals.ts';

export interface PodAdmissionInput {
  /** The pod as sent in AdmissionReview.request.object (raw JSON, not client-node's class instances). */
  pod: V1Pod;
  /** request.namespace (pods created by controllers often have no metadata.namespace yet). */
  namespace: string;
  /** Labels of that namespace, or undefined when they could not be read. */
  namespaceLabels: Record<string, string> | undefined;
  operation: 'CREATE' | 'UPDATE';
  /** '' for the pod itself, 'ephemeralcontainers' for kubectl debug. */
  subResource: string;
  /** Set for UPDATE: the stored pod before the change. */
  oldPod?: V1Pod;
  /** The webhook's own namespace, never injected. */
  webhookNamespace?: string;
  /** Whether the cluster runs native sidecars (for nativeSidecars: auto); undefined when unknown. */
  nativeSidecarsSupported?: boolean;
}

export type PodAdmissionResult =
  | {
      allowed: true;
      patch: Operation[];
      injected: boolean;
      /** Why nothing was injected, in words. */
      skipReason?: string;
      /** The same as a stable code (a DecisionCode or 'not-create', 'subresource', 'ephemeral-containers'), fit for a metric label. */
      skipCode?: string;
      warnings?: string[];
      /** Init containers let through as the proxy's UID/GID by the namespace's opt-in: to warn about and record. */
      proxyIdentityAllowances?: ProxyIdentityAllowance[];
    }
  | {
      allowed: false;
      /** HTTP-style status: 400 malformed pod or invalid annotation, 403 policy refusal, 500 injector bug. */
      code: number;
      /** The stable refusal code of the first refusal (see refusals.ts), usable as Status.reason. */
      reason: string;
      message: string;
      /** Every refusal found, each naming its container and field. */
      refusals: Refusal[];
    };

/** Mutating entry point: decide → annotations → policy → inject → patch. Never throws on any input. */
export function admitPod(input: PodAdmissionInput, config: InjectorConfig): PodAdmissionResult {
  return guarded(input, (checked) => {
    const early = admitWithoutInjection(checked);
    if (early) return early;
    const decision = decide(checked, config);
    const warnings = deprecationWarnings(checked.pod);
    if (!decision.inject) return skipped(decision.code, decision.reason, warnings);
    const { settings, refusals, warnings: adjustments } = resolveSidecarSettings(checked.pod.metadata?.annotations, config, environmentOf(checked));
    const override = findProxyOverride(checked.pod);
    const overrideRefusals = override ? proxyOverrideRefusals(override, config, settings) : [];
    if (refusals.length > 0) return refuse(400, refusals);
    const identity = checkProxyIdentity(checked.pod, policyScope(checked, config, override?.container, settings.interceptionMode));
    const allWarnings = [...(warnings ?? []), ...adjustments, ...identity.allowances.map((allowed) => formatAllowance(allowed))];
    return refuseOr([...overrideRefusals, ...identity.refusals], () => {
      const injected = injectPod(checked.pod, config, { namespace: checked.namespace, settings });
      const patch = injectionPatch(checked.pod, injected);
      // Injecting an injected pod again with the same configuration gives the same pod.
      if (patch.length === 0 && decision.alreadyInjected) {
        return withAllowances(skipped('already-injected', 'already injected with this configuration: nothing changes', allWarnings.length > 0 ? allWarnings : undefined), identity.allowances);
      }
      return withAllowances({ allowed: true, patch, injected: true, ...(allWarnings.length > 0 ? { warnings: allWarnings } : {}) }, identity.allowances);
    });
  });
}

/** Validating entry point: only the UID/GID 1337 rule and annotation checks, no patch. */
export function validatePod(input: PodAdmissionInput, config: InjectorConfig): PodAdmissionResult {
  return guarded(input, (checked) => {
    const early = admitWithoutInjection(checked);
    if (early) return early;
    const decision = decide(checked, config);
    if (!decision.inject && !decision.alreadyInjected) return skipped(decision.code, decision.reason);
    const { settings, refusals } = resolveSidecarSettings(checked.pod.metadata?.annotations, config);
    if (refusals.length > 0) return refuse(400, refusals);
    const override = findProxyOverride(checked.pod);
    const identity = checkProxyIdentity(checked.pod, policyScope(checked, config, override?.container, settings.interceptionMode));
    const warnings = identity.allowances.map((allowed) => formatAllowance(allowed));
    return refuseOr(identity.refusals, () =>
      withAllowances(skipped(decision.code, 'the pod passes the proxy UID/GID policy', warnings.length > 0 ? warnings : undefined), identity.allowances));
  });
}

/** The proxy's identity for this pod (an override may move it off 1337) and the namespace's opt-in. */
function policyScope(input: PodAdmissionInput, config: InjectorConfig, override: V1Container | undefined, interceptionMode: string): PolicyScope {
  return { exemptId: exemptProxyUid(override, interceptionMode === 'TPROXY', proxyUid), ...proxyIdentityOptIn(input.namespace, config) };
}

function withAllowances(result: PodAdmissionResult, allowances: ProxyIdentityAllowance[]): PodAdmissionResult {
  return result.allowed && allowances.length > 0 ? { ...result, proxyIdentityAllowances: allowances } : result;
}

function guarded(input: unknown, admit: (input: PodAdmissionInput) => PodAdmissionResult): PodAdmissionResult {
  try {
    const problem = inputProblem(input);
    if (problem) return refuse(400, [{ code: refusalCodes.malformedPod, field: problem.field, message: problem.message }]);
    return admit(input as PodAdmissionInput);
  } catch (error) {
    const message = `the injector failed on this pod (a bug worth reporting): ${error instanceof Error ? error.message : String(error)}`;
    return { allowed: false, code: 500, reason: 'InternalError', message, refusals: [] };
  }
}

/** Requests the injector does not mutate: only pod creation injects, only new debug containers are checked. */
function admitWithoutInjection(input: PodAdmissionInput): PodAdmissionResult | undefined {
  if (input.subResource === 'ephemeralcontainers') {
    const before = new Set((input.oldPod?.spec?.ephemeralContainers ?? []).map((container) => container.name));
    const added = (input.pod.spec?.ephemeralContainers ?? []).map((container) => container.name).filter((name) => !before.has(name));
    return refuseOr(findProxyIdentityViolations(input.pod, { newEphemeralContainers: new Set(added) }), () =>
      skipped('ephemeral-containers', 'ephemeral containers are checked, never injected'),
    );
  }
  if (input.subResource !== '') return skipped('subresource', `subresource ${input.subResource} does not change the pod's containers`);
  // A pod's containers and security contexts are immutable after creation; refusing its updates would
  // only block controllers (finalizers, labels) on pods created before the injector.
  if (input.operation !== 'CREATE') return skipped('not-create', 'only pod creation is injected');
  return undefined;
}

function decide(input: PodAdmissionInput, config: InjectorConfig): InjectionDecision {
  return decideInjection(input.pod, { namespace: input.namespace, namespaceLabels: input.namespaceLabels, webhookNamespace: input.webhookNamespace }, config);
}

function environmentOf(input: PodAdmissionInput): SidecarEnvironment {
  return input.nativeSidecarsSupported === undefined ? {} : { nativeSidecarsSupported: input.nativeSidecarsSupported };
}

function skipped(code: string, reason: string, warnings?: string[]): PodAdmissionResult {
  return { allowed: true, patch: [], injected: false, skipReason: reason, skipCode: code, ...(warnings ? { warnings } : {}) };
}

function refuse(code: number, refusals: Refusal[]): PodAdmissionResult {
  const message = refusals.map((refusal) => formatRefusal(refusal)).join('; ');
  return { allowed: false, code, reason: refusals[0]?.code ?? 'Refused', message, refusals };
}

function refuseOr(refusals: Refusal[], allowed: () => PodAdmissionResult): PodAdmissionResult {
  return refusals.length > 0 ? refuse(403, refusals) : allowed();
}

function deprecationWarnings(pod: V1Pod): string[] | undefined {
  const annotations = pod.metadata?.annotations ?? {};
  if (!Object.hasOwn(annotations, annotationKeys.inject) || Object.hasOwn(pod.metadata?.labels ?? {}, labelKeys.inject)) return undefined;
  return [`the ${annotationKeys.inject} annotation is deprecated; use the pod label of the same name`];
}

function inputProblem(input: unknown): { field: string; message: string } | undefined {
  if (typeof input !== 'object' || input === null) return { field: 'request', message: 'the admission input must be an object' };
  const { pod, namespace, namespaceLabels, operation, subResource, oldPod } = input as Record<string, unknown>;
  const podProblem = podShapeProblem(pod);
  if (podProblem) return { field: 'request.object', message: `not a pod the injector can read: ${podProblem}` };
  if (typeof namespace !== 'string') return { field: 'request.namespace', message: 'must be a string' };
  if (operation !== 'CREATE' && operation !== 'UPDATE') return { field: 'request.operation', message: 'must be CREATE or UPDATE' };
  if (typeof subResource !== 'string') return { field: 'request.subResource', message: 'must be a string' };
  if (oldPod !== undefined && oldPod !== null && podShapeProblem(oldPod)) {
    return { field: 'request.oldObject', message: `not a pod the injector can read: ${podShapeProblem(oldPod)}` };
  }
  const labelsValid =
    namespaceLabels === undefined ||
    (typeof namespaceLabels === 'object' && namespaceLabels !== null && Object.values(namespaceLabels).every((value) => typeof value === 'string'));
  if (!labelsValid) return { field: 'namespaceLabels', message: 'must be a mapping of strings' };
  return undefined;
}

export type { V1EphemeralContainer };
