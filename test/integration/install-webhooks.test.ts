// What happens to pods while Switchboard is down once its webhooks are registered (step 2 of the
// install): the webhook configurations exactly as config/webhook-cert-manager renders them, except
// that they point at an address where nothing listens. Pods outside the mesh and Switchboard's own
// pods are created; mesh pods meet the documented failurePolicy (Fail). Before step 2 nothing is
// registered at all (test/integration/install-staged.test.ts).
import { AdmissionregistrationV1Api, type KubernetesObject, type V1MutatingWebhookConfiguration, type V1Pod, type V1ValidatingWebhookConfiguration } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findObject, renderKustomization } from '../harness/kustomize.ts';
import { freePort } from '../harness/ports.ts';
import { createNamespace, deleteNamespace, eventually, kubectl, podRefusal, testCluster } from './support/cluster.ts';

const cluster = testCluster();
const admission = cluster.kubeConfig.makeApiClient(AdmissionregistrationV1Api);
const rendered = renderKustomization('config/default');
const webhooks = renderKustomization('config/webhook-cert-manager');
const mutating = findObject<V1MutatingWebhookConfiguration>(webhooks, 'MutatingWebhookConfiguration', 'switchboard-injector');
const validating = findObject<V1ValidatingWebhookConfiguration>(webhooks, 'ValidatingWebhookConfiguration', 'switchboard-proxy-uid-guard');
const namespaces: string[] = [];
let switchboardObjects: KubernetesObject[] = [];
let debuggedPod: { namespace: string; name: string };

function pod(name: string, labels: Record<string, string> = {}): V1Pod {
  return { metadata: { name, labels }, spec: { containers: [{ name: 'app', image: 'registry.example/app:1' }] } };
}

function refusalOf(namespace: string, body: V1Pod): Promise<string | undefined> {
  return podRefusal(cluster, namespace, body);
}

async function namespaceWith(labels: Record<string, string>): Promise<string> {
  const name = await createNamespace(cluster, 'down', labels);
  namespaces.push(name);
  return name;
}

beforeAll(async () => {
  // A pod that exists before the webhooks do, for the ephemeral-container case.
  const meshNamespace = await namespaceWith({ 'istio-injection': 'enabled' });
  await cluster.core.createNamespacedPod({ namespace: meshNamespace, body: pod('debug-me') });
  debuggedPod = { namespace: meshNamespace, name: 'debug-me' };

  const nowhere = `https://127.0.0.1:${await freePort()}`;
  const unreachable = <T extends { clientConfig: { service?: { path?: string }; url?: string } }>(hook: T): T => ({ ...hook, clientConfig: { url: `${nowhere}${hook.clientConfig.service?.path ?? '/'}` } });
  await admission.createMutatingWebhookConfiguration({ body: { ...mutating, metadata: { name: mutating.metadata!.name! }, webhooks: mutating.webhooks!.map(unreachable) } });
  await admission.createValidatingWebhookConfiguration({ body: { ...validating, metadata: { name: validating.metadata!.name! }, webhooks: validating.webhooks!.map(unreachable) } });
});

afterAll(async () => {
  await admission.deleteMutatingWebhookConfiguration({ name: mutating.metadata!.name! }).catch(() => undefined);
  await admission.deleteValidatingWebhookConfiguration({ name: validating.metadata!.name! }).catch(() => undefined);
  if (switchboardObjects.length > 0) {
    await kubectl(['delete', '--ignore-not-found', '--wait=false', '-f', '-'], switchboardObjects.map((o) => JSON.stringify(o)).join('\n')).catch(() => undefined);
    await eventually('namespace switchboard-system gone', async () => cluster.core.readNamespace({ name: 'switchboard-system' }).then(() => false, () => true), 120_000);
  }
  for (const namespace of namespaces) await deleteNamespace(cluster, namespace);
});

describe('pod admission while Switchboard is down', () => {
  it.each([
    ['a namespace without injection labels', {}, {}],
    ['a pod that opts out in an injection-enabled namespace', { 'istio-injection': 'enabled' }, { 'sidecar.istio.io/inject': 'false' }],
    ['a namespace of another revision (istio.io/rev=canary)', { 'istio.io/rev': 'canary' }, {}],
    ['a namespace with injection disabled, even for a pod asking for it', { 'istio-injection': 'disabled' }, { 'sidecar.istio.io/inject': 'true' }],
    ['a pod of another revision in an unlabelled namespace', {}, { 'istio.io/rev': 'canary' }],
  ])('creates a pod in %s', async (_what, namespaceLabels, podLabels) => {
    const namespace = await namespaceWith(namespaceLabels);
    expect(await refusalOf(namespace, pod('outside-the-mesh', podLabels))).toBeUndefined();
  });

  it.each([
    ['namespace.inject.switchboard.dev', 'an injection-enabled namespace', { 'istio-injection': 'enabled' }, {}],
    ['rev.namespace.inject.switchboard.dev', 'a namespace of this revision (istio.io/rev=default)', { 'istio.io/rev': 'default' }, {}],
    ['object.inject.switchboard.dev', 'an unlabelled namespace, for a pod labelled sidecar.istio.io/inject=true', {}, { 'sidecar.istio.io/inject': 'true' }],
    ['rev.object.inject.switchboard.dev', 'an unlabelled namespace, for a pod of this revision', {}, { 'istio.io/rev': 'default' }],
  ])('refuses (failurePolicy Fail, webhook %s) a pod in %s', async (webhook, _what, namespaceLabels, podLabels) => {
    const namespace = await namespaceWith(namespaceLabels);
    const refusal = await refusalOf(namespace, pod('in-the-mesh', podLabels));
    expect(refusal).toContain(`failed calling webhook "${webhook}"`);
  });

  it('refuses an ephemeral container in a mesh pod (the validating webhook, failurePolicy Fail)', async () => {
    const refusal = await kubectl(['debug', '-n', debuggedPod.namespace, debuggedPod.name, '--image=busybox:1', '--container=debugger', '--', 'true'])
      .then(() => undefined, (error: Error) => error.message);
    expect(refusal).toContain('failed calling webhook "namespace.validate.switchboard.dev"');
  });

  it("lets Switchboard's own Deployment create its pods, even with its namespace labelled for injection", async () => {
    switchboardObjects = rendered.filter((o) => ['Namespace', 'ServiceAccount', 'PriorityClass', 'Deployment'].includes(o.kind ?? ''));
    const apply = (objects: KubernetesObject[]) => kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=switchboard-install-test', '-f', '-'], objects.map((o) => JSON.stringify(o)).join('\n'));
    // An earlier file's uninstall may still be deleting the namespace: nothing can be created in it until it is gone.
    await eventually('namespace switchboard-system not terminating', async () => {
      const existing = await cluster.core.readNamespace({ name: 'switchboard-system' }).catch(() => undefined);
      return existing?.metadata?.deletionTimestamp === undefined;
    }, 120_000);
    await apply(switchboardObjects.filter((o) => o.kind !== 'Deployment'));
    // Only the exclusion by name protects it now.
    await kubectl(['label', '--overwrite', 'namespace', 'switchboard-system', 'istio-injection=enabled', 'istio.io/rev=default']);
    await apply(switchboardObjects.filter((o) => o.kind === 'Deployment'));
    await eventually('the manager Deployment created its 2 pods', async () => {
      const pods = await cluster.core.listNamespacedPod({ namespace: 'switchboard-system', labelSelector: 'app.kubernetes.io/name=switchboard' });
      return pods.items.length >= 2;
    }, 90_000);
    const events = await cluster.core.listNamespacedEvent({ namespace: 'switchboard-system', fieldSelector: 'reason=FailedCreate' });
    expect(events.items.map((e) => e.message)).toEqual([]);
  });

  it('creates pods in istio-system, whatever its labels', async () => {
    const existed = await cluster.core.readNamespace({ name: 'istio-system' }).then(() => true, () => false);
    if (!existed) {
      await cluster.core.createNamespace({ body: { metadata: { name: 'istio-system', labels: { 'istio-injection': 'enabled' } } } });
      namespaces.push('istio-system');
    } else {
      await kubectl(['label', '--overwrite', 'namespace', 'istio-system', 'istio-injection=enabled']);
    }
    expect(await refusalOf('istio-system', pod(`control-plane-${Date.now().toString(36)}`))).toBeUndefined();
  });
});
