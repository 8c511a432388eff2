// Another mutating webhook, as a cluster may run beside the injector (an agent injector, a log
// shipper): it adds one container with an HTTP readiness probe to every pod it sees, once. Real
// HTTPS and a real registration, so that the API server orders and reinvokes it as it would any.
import type { KubernetesObject } from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { LabelSelector } from './webhook-registration.ts';

export interface ContainerAddingWebhook {
  url: string;
  /** The reviews it answered, in order: whether each pod already had istio-proxy. */
  calls: Array<{ hadProxy: boolean }>;
  close(): Promise<void>;
}

export interface AddedContainer {
  name: string;
  image: string;
  readinessProbe: { httpGet: { path: string; port: number } };
}

export async function startContainerAddingWebhook(options: { certFile: string; keyFile: string; container: AddedContainer }): Promise<ContainerAddingWebhook> {
  const calls: Array<{ hadProxy: boolean }> = [];
  const server: Server = createServer({ cert: readFileSync(options.certFile), key: readFileSync(options.keyFile) }, (request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { request: { uid: string; object: { spec: { containers: Array<{ name: string }> } } } };
      const containers = review.request.object.spec.containers;
      calls.push({ hadProxy: containers.some((container) => container.name === 'istio-proxy') });
      const patch = containers.some((container) => container.name === options.container.name) ? [] : [{ op: 'add', path: '/spec/containers/-', value: options.container }];
      const answer = {
        apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
        response: { uid: review.request.uid, allowed: true, ...(patch.length > 0 ? { patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch)).toString('base64') } : {}) },
      };
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}/mutate`,
    calls,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Its registration: reinvocationPolicy Never, so the API server calls it once per pod. */
export function containerAddingRegistration(options: { name: string; url: string; caFile: string; namespaceSelector: LabelSelector }): KubernetesObject {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata: { name: options.name },
    webhooks: [{
      name: 'add-container.example.dev', admissionReviewVersions: ['v1'], sideEffects: 'None', failurePolicy: 'Fail', timeoutSeconds: 10,
      reinvocationPolicy: 'Never', namespaceSelector: options.namespaceSelector,
      clientConfig: { url: options.url, caBundle: readFileSync(options.caFile).toString('base64') },
      rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'], scope: 'Namespaced' }],
    }],
  } as KubernetesObject;
}
