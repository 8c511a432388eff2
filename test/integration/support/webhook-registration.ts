import type { KubernetesObject } from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';

/**
 * Webhook configurations shaped like the ones in config/webhook, but pointed at a URL on
 * 127.0.0.1 and limited to namespaces carrying this test run's label, so that other suites'
 * pods never depend on this server.
 */
export function webhookConfigurations(options: { name: string; url: string; caFile: string; testLabel: string }): {
  mutating: KubernetesObject; validating: KubernetesObject;
} {
  const caBundle = readFileSync(options.caFile).toString('base64');
  const common = {
    admissionReviewVersions: ['v1'], sideEffects: 'None', failurePolicy: 'Fail', timeoutSeconds: 10,
    namespaceSelector: { matchExpressions: [{ key: options.testLabel, operator: 'Exists' }] },
  };
  return {
    mutating: {
      apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata: { name: options.name },
      webhooks: [{
        ...common, name: 'inject.switchboard.dev', reinvocationPolicy: 'Never',
        clientConfig: { url: `${options.url}/inject`, caBundle },
        rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'], scope: 'Namespaced' }],
      }],
    } as KubernetesObject,
    validating: {
      apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', metadata: { name: options.name },
      webhooks: [{
        ...common, name: 'validate.switchboard.dev',
        clientConfig: { url: `${options.url}/validate`, caBundle },
        rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['pods', 'pods/ephemeralcontainers'], scope: 'Namespaced' }],
      }],
    } as KubernetesObject,
  };
}
