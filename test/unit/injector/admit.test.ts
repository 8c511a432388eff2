import { applyPatch } from 'rfc6902';
import { describe, expect, it } from 'vitest';
import { admitPod, validatePod, type PodAdmissionResult } from '../../../src/injector/admit.ts';
import { defaultInjectorConfig } from '../../../src/injector/config.ts';
import { injectPod } from '../../../src/injector/inject.ts';
import { admissionInput, appContainer, pod } from './pods.ts';

const config = defaultInjectorConfig();

function expectRefused(result: PodAdmissionResult): Extract<PodAdmissionResult, { allowed: false }> {
  if (result.allowed) throw new Error(`expected a refusal, got ${JSON.stringify(result)}`);
  return result;
}

describe('admitPod', () => {
  it('injects through a patch that turns the pod into injectPod\'s result', () => {
    const subject = pod({ labels: { app: 'payment-service' }, annotations: { 'sidecar.istio.io/proxyCPU': '200m' } });
    const result = admitPod(admissionInput(subject), config);
    expect(result).toMatchObject({ allowed: true, injected: true });
    if (!result.allowed) return;
    const patched = structuredClone(subject);
    expect(applyPatch(patched, result.patch).every((error) => error === null)).toBe(true);
    expect(patched).toEqual(injectPod(subject, config, { namespace: 'production' }));
  });

  it('escapes "/" in keys as ~1 and "~" as ~0 in the patch paths', () => {
    // Prometheus reads prometheus.io~port like prometheus.io/port, so the metrics merge removes it.
    const subject = pod({ labels: { app: 'payment-service' }, annotations: { 'prometheus.io~port': '9102', 'example.com/owner': 'payments' } });
    const result = admitPod(admissionInput(subject), config);
    if (!result.allowed) throw new Error('refused');
    const paths = result.patch.map((operation) => operation.path);
    expect(paths).toContain('/metadata/annotations/sidecar.istio.io~1status');
    expect(paths).toContain('/metadata/labels/security.istio.io~1tlsMode');
    expect(result.patch).toContainEqual({ op: 'remove', path: '/metadata/annotations/prometheus.io~0port' });
    expect(paths.filter((path) => path.startsWith('/metadata/')).every((path) => path.split('/').length === 4)).toBe(true);
    const patched = structuredClone(subject);
    expect(applyPatch(patched, result.patch).every((error) => error === null)).toBe(true);
    expect(patched).toEqual(injectPod(subject, config, { namespace: 'production' }));
  });

  it('skips a pod that is not selected, with a code and a reason', () => {
    const result = admitPod(admissionInput(pod(), { namespaceLabels: {} }), config);
    expect(result).toMatchObject({ allowed: true, injected: false, patch: [], skipCode: 'not-selected' });
  });

  it('allows an already injected pod without a patch', () => {
    const injected = injectPod(pod(), config, { namespace: 'production' });
    expect(admitPod(admissionInput(injected), config)).toMatchObject({ allowed: true, injected: false, patch: [], skipCode: 'already-injected' });
  });

  it('still applies the 1337 policy to an already injected pod', () => {
    const injected = injectPod(pod(), config, { namespace: 'production' });
    injected.spec!.containers[0]!.securityContext = { runAsUser: 1337 };
    expect(expectRefused(admitPod(admissionInput(injected), config)).code).toBe(403);
  });

  it('refuses invalid annotations with 400, naming the annotation', () => {
    const result = expectRefused(admitPod(admissionInput(pod({ annotations: { 'sidecar.istio.io/proxyMemory': 'a lot' } })), config));
    expect(result).toMatchObject({ code: 400, reason: 'InvalidSidecarAnnotation' });
    expect(result.message).toContain('metadata.annotations["sidecar.istio.io/proxyMemory"]');
  });

  it('refuses runAsUser 1337 with 403, naming the container and field', () => {
    const subject = pod({ containers: [appContainer('app'), appContainer('worker', { securityContext: { runAsUser: 1337 } })] });
    const result = expectRefused(admitPod(admissionInput(subject), config));
    expect(result).toMatchObject({ code: 403, reason: 'ContainerRunsAsProxyUID' });
    expect(result.message).toContain('container "worker": spec.containers[1].securityContext.runAsUser: ');
    expect(result.refusals).toHaveLength(1);
  });

  it('does not police pods that stay out of the mesh', () => {
    const subject = pod({ labels: { 'sidecar.istio.io/inject': 'false' }, securityContext: { runAsUser: 1337 } });
    expect(admitPod(admissionInput(subject), config)).toMatchObject({ allowed: true, skipCode: 'pod-opt-out' });
  });

  it('warns about the deprecated inject annotation', () => {
    const result = admitPod(admissionInput(pod({ annotations: { 'sidecar.istio.io/inject': 'true' } })), config);
    expect(result.allowed && result.warnings?.[0]).toContain('deprecated');
  });

  it('leaves pod updates alone', () => {
    const subject = pod({ securityContext: { runAsUser: 1337 } });
    expect(admitPod(admissionInput(subject, { operation: 'UPDATE', oldPod: subject }), config)).toMatchObject({ allowed: true, skipCode: 'not-create' });
  });

  it('checks only newly added ephemeral containers and never injects them', () => {
    const old = injectPod(pod(), config);
    old.spec!.ephemeralContainers = [{ name: 'debugger-1', securityContext: { runAsUser: 1337 } }];
    const updated = structuredClone(old);
    updated.spec!.ephemeralContainers!.push({ name: 'debugger-2', image: 'busybox' });
    expect(admitPod(admissionInput(updated, { operation: 'UPDATE', subResource: 'ephemeralcontainers', oldPod: old }), config)).toMatchObject({
      allowed: true,
      patch: [],
      skipCode: 'ephemeral-containers',
    });
    updated.spec!.ephemeralContainers!.push({ name: 'debugger-3', securityContext: { runAsGroup: 1337 } });
    const result = expectRefused(admitPod(admissionInput(updated, { operation: 'UPDATE', subResource: 'ephemeralcontainers', oldPod: old }), config));
    expect(result.message).toContain('container "debugger-3": spec.ephemeralContainers[2].securityContext.runAsGroup');
  });

  it.each([
    ['no spec', { metadata: {} }, 'spec must be a mapping'],
    ['containers not a list', { spec: { containers: 'app' } }, 'spec.containers must be a list'],
    ['a container without a name', { spec: { containers: [{ image: 'x' }] } }, 'spec.containers[0].name must be a string'],
    ['labels not strings', { metadata: { labels: { a: 1 } }, spec: { containers: [] } }, 'metadata.labels["a"] must be a string'],
    ['runAsUser not a number', { spec: { containers: [{ name: 'a', securityContext: { runAsUser: '1337' } }] } }, 'runAsUser must be an integer'],
    ['an array', [], 'must be a Pod mapping'],
  ])('refuses a pod with %s with 400 and says why', (_name, malformed, expected) => {
    const result = expectRefused(admitPod(admissionInput(malformed as never), config));
    expect(result).toMatchObject({ code: 400, reason: 'MalformedPod' });
    expect(result.message).toContain(expected);
  });

  it('refuses input that is not an admission input at all', () => {
    expect(expectRefused(admitPod(null as never, config)).code).toBe(400);
    expect(expectRefused(admitPod({ pod: pod(), namespace: 3 } as never, config)).message).toContain('request.namespace');
  });
});

describe('validatePod', () => {
  it('allows an injected pod without a patch', () => {
    const result = validatePod(admissionInput(injectPod(pod(), config)), config);
    expect(result).toMatchObject({ allowed: true, patch: [], injected: false });
  });

  it('refuses an injected pod whose app runs as GID 1337', () => {
    const injected = injectPod(pod({ securityContext: { runAsGroup: 1337 } }), config);
    const result = expectRefused(validatePod(admissionInput(injected), config));
    expect(result).toMatchObject({ code: 403, reason: 'PodRunsAsProxyGID' });
    expect(result.message).toContain('container "app": spec.securityContext.runAsGroup');
  });

  it('refuses invalid annotations on a pod in the mesh', () => {
    const result = expectRefused(validatePod(admissionInput(pod({ annotations: { 'traffic.sidecar.istio.io/excludeInboundPorts': 'ssh' } })), config));
    expect(result.reason).toBe('InvalidSidecarAnnotation');
  });

  it('ignores pods outside the mesh', () => {
    const subject = pod({ securityContext: { runAsUser: 1337 } });
    expect(validatePod(admissionInput(subject, { namespace: 'kube-system' }), config)).toMatchObject({ allowed: true, skipCode: 'excluded-namespace' });
  });
});
