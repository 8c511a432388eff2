// One admission request, start to finish, for both endpoints. No HTTP here: the server hands us
// the parsed body; we hand back the AdmissionReview to send.
import { admitPod, validatePod, type PodAdmissionInput, type PodAdmissionResult } from '../injector/admit.ts';
import type { InjectorConfig } from '../injector/config.ts';
import type { NamespaceLabelSource } from '../kube/namespace-labels.ts';
import type { WebhookMetrics } from '../observability/metrics.ts';
import type { NativeSidecarSupportSource } from './native-sidecar-support.ts';
import type { ProxyIdentityAudit } from './proxy-identity-events.ts';
import { allowResponse, responseFor, type AdmissionRequestView, type AdmissionReviewResponse } from './admission-review.ts';

export type Endpoint = 'inject' | 'validate';

export interface ReviewContext {
  config: InjectorConfig;
  namespaces: NamespaceLabelSource;
  metrics: WebhookMetrics;
  webhookNamespace?: string;
  /** Kubelet versions, for nativeSidecars: auto; absent means unknown, and auto stays off. */
  nativeSidecarSupport?: NativeSidecarSupportSource;
  /** Records each pod the UID 1337 init-container opt-in lets through; absent, they are only warned about. */
  proxyIdentityAudit?: ProxyIdentityAudit;
}

export async function reviewAdmission(endpoint: Endpoint, request: AdmissionRequestView, context: ReviewContext): Promise<AdmissionReviewResponse> {
  // The webhook configurations only send pods; anything else is allowed untouched rather than
  // refused, so a too-broad rule written by hand cannot take a cluster's writes down.
  if (request.kind.kind !== 'Pod' || !request.object || (request.operation !== 'CREATE' && request.operation !== 'UPDATE')) {
    context.metrics.requests.inc({ endpoint, outcome: 'ignored' });
    return allowResponse(request.uid);
  }
  const input: PodAdmissionInput = {
    pod: request.object,
    namespace: request.namespace,
    namespaceLabels: await context.namespaces.labelsOf(request.namespace),
    operation: request.operation,
    subResource: request.subResource,
    ...(request.oldObject ? { oldPod: request.oldObject } : {}),
    ...(context.webhookNamespace ? { webhookNamespace: context.webhookNamespace } : {}),
    ...(context.nativeSidecarSupport && context.config.nativeSidecars === 'auto'
      ? { nativeSidecarsSupported: context.nativeSidecarSupport.supports(nodeNameOf(request.object)) }
      : {}),
  };
  const result = endpoint === 'inject' ? admitPod(input, context.config) : validatePod(input, context.config);
  record(endpoint, result, context.metrics);
  if (endpoint === 'validate' && result.allowed && result.proxyIdentityAllowances && !request.dryRun) {
    context.proxyIdentityAudit?.record(request.namespace, request.object, result.proxyIdentityAllowances);
  }
  return responseFor(request.uid, result);
}

function record(endpoint: Endpoint, result: PodAdmissionResult, metrics: WebhookMetrics): void {
  if (!result.allowed) {
    metrics.requests.inc({ endpoint, outcome: 'refused' });
    metrics.refusals.inc({ endpoint, reason: result.reason });
    return;
  }
  metrics.requests.inc({ endpoint, outcome: 'allowed' });
  if (endpoint !== 'inject') return;
  if (result.injected) metrics.injections.inc();
  else metrics.skips.inc({ reason: result.skipCode ?? 'not-selected' });
}

function nodeNameOf(pod: AdmissionRequestView['object']): string | undefined {
  const nodeName: unknown = pod?.spec?.nodeName;
  return typeof nodeName === 'string' && nodeName !== '' ? nodeName : undefined;
}
