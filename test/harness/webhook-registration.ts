import type { KubernetesObject } from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';

export interface LabelSelector {
  matchExpressions: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[];
}

/**
 * Webhook configurations shaped like the ones in config/webhook, but pointed at a URL on
 * 127.0.0.1 (the API server calls a webhook running outside the cluster) and limited to the
 * namespaces the selector picks: a test picks its own, so other suites' pods never depend on it.
 */
export function webhookConfigurations(options: {
  name: string; url: string; caFile: string; namespaceSelector: LabelSelector;
  /** The injector's; config/webhook ships Never, as istiod's chart does. */
  reinvocationPolicy?: 'Never' | 'IfNeeded';
}): {
  mutating: KubernetesObject; validating: KubernetesObject;
} {
  const caBundle = readFileSync(options.caFile).toString('base64');
  const common = {
    admissionReviewVersions: ['v1'], failurePolicy: 'Fail', timeoutSeconds: 10,
    namespaceSelector: options.namespaceSelector,
  };
  return {
    mutating: {
      apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata: { name: options.name },
      webhooks: [{
        ...common, name: 'inject.switchboard.dev', sideEffects: 'None', reinvocationPolicy: options.reinvocationPolicy ?? 'Never',
        clientConfig: { url: `${options.url}/inject`, caBundle },
        rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'], scope: 'Namespaced' }],
      }],
    } as KubernetesObject,
    validating: {
      apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', metadata: { name: options.name },
      webhooks: [{
        // The guard records the UID 1337 init-container allowances as Events, never on dry runs.
        ...common, name: 'validate.switchboard.dev', sideEffects: 'NoneOnDryRun',
        clientConfig: { url: `${options.url}/validate`, caBundle },
        rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['pods', 'pods/ephemeralcontainers'], scope: 'Namespaced' }],
      }],
    } as KubernetesObject,
  };
}
