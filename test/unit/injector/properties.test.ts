import type { V1Container, V1Pod } from '@kubernetes/client-node';
import fc from 'fast-check';
import { applyPatch } from 'rfc6902';
import { describe, expect, it } from 'vitest';
import { admitPod } from '../../../src/injector/admit.ts';
import { defaultInjectorConfig, type InjectorConfig } from '../../../src/injector/config.ts';
import { injectPod } from '../../../src/injector/inject.ts';
import { injectionPatch, podPatch } from '../../../src/injector/json-patch.ts';

const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,12}$/).filter((text) => !text.startsWith('istio-'));
const text = fc.string({ maxLength: 20 });
const mapKey = fc.stringMatching(/^[a-z0-9][a-z0-9.~/_-]{0,24}$/).filter((key) => !/istio\.io|^prometheus/.test(key));

const port = fc.record(
  { containerPort: fc.integer({ min: 1, max: 65535 }), name: name, protocol: fc.constantFrom('TCP', 'UDP', 'SCTP') },
  { requiredKeys: ['containerPort'] },
);

const container: fc.Arbitrary<V1Container> = fc.record(
  {
    name,
    image: text,
    ports: fc.array(port, { maxLength: 3 }),
    env: fc.array(fc.record({ name: name, value: text }), { maxLength: 4 }),
    // UID 1337 is refused by policy; the refusal has its own tests, these properties need injectable pods.
    securityContext: fc.record({ runAsUser: fc.integer({ min: 1000, max: 2000 }).filter((uid) => uid !== 1337) }),
  },
  { requiredKeys: ['name'] },
);

// Valid sidecar annotations, so that generated pods exercise the per-pod settings too.
const sidecarAnnotations = fc.subarray([
  ['sidecar.istio.io/proxyCPU', '50m'],
  ['sidecar.istio.io/proxyMemoryLimit', '1Gi'],
  ['traffic.sidecar.istio.io/excludeOutboundPorts', '5432'],
  ['traffic.sidecar.istio.io/includeInboundPorts', '8080,9090'],
  ['sidecar.istio.io/nativeSidecar', 'true'],
  ['proxy.istio.io/config', '{"holdApplicationUntilProxyStarts": true}'],
  ['prometheus.io/port', '9102'],
  ['prometheus.io.scrape', 'true'],
] as const);

const generatedPod: fc.Arbitrary<V1Pod> = fc
  .record({
    metadata: fc.record(
      {
        name,
        namespace: name,
        labels: fc.dictionary(mapKey, text, { maxKeys: 4 }),
        annotations: fc.tuple(fc.dictionary(mapKey, text, { maxKeys: 4 }), sidecarAnnotations).map(([free, sidecar]) => ({ ...free, ...Object.fromEntries(sidecar) })),
      },
      { requiredKeys: [] },
    ),
    containers: fc.uniqueArray(container, { minLength: 1, maxLength: 3, selector: (entry) => entry.name }),
    initContainers: fc.option(fc.uniqueArray(container, { maxLength: 2, selector: (entry) => entry.name }), { nil: undefined }),
  })
  .map(({ metadata, containers, initContainers }) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata,
    spec: { containers, ...(initContainers ? { initContainers: initContainers.map((entry) => ({ ...entry, name: `init-${entry.name}` })) } : {}) },
  }));

const configs: fc.Arbitrary<InjectorConfig> = fc
  .record({ nativeSidecars: fc.boolean(), holdApplicationUntilProxyStarts: fc.boolean(), prometheusMerge: fc.boolean() })
  .map((knobs) => ({ ...defaultInjectorConfig(), ...knobs }));

describe('injection properties', () => {
  it('injecting an injected pod changes nothing', () => {
    fc.assert(
      fc.property(generatedPod, configs, (subject, config) => {
        const once = injectPod(subject, config);
        expect(injectPod(once, config)).toEqual(once);
      }),
    );
  });

  it('never modifies the input pod', () => {
    fc.assert(
      fc.property(generatedPod, configs, (subject, config) => {
        const before = structuredClone(subject);
        injectPod(subject, config);
        expect(subject).toEqual(before);
      }),
    );
  });

  it("admitPod's patch applied to the pod gives the injected pod", () => {
    fc.assert(
      fc.property(generatedPod, configs, (subject, config) => {
        const result = admitPod({ pod: subject, namespace: 'shop', namespaceLabels: { 'istio-injection': 'enabled' }, operation: 'CREATE', subResource: '' }, config);
        if (!result.allowed) throw new Error(result.message);
        const patched = structuredClone(subject);
        expect(applyPatch(patched, result.patch).every((error) => error === null)).toBe(true);
        expect(patched).toEqual(injectPod(subject, config, { namespace: 'shop' }));
      }),
      { numRuns: 50 },
    );
  });
});

// Probes make injection rebuild the app's containers (rewritten to the agent), not only add to lists.
const probe = fc.record({ httpGet: fc.record({ path: fc.constantFrom('/ready', '/live', '/a/b~c'), port: fc.oneof(fc.integer({ min: 1, max: 65535 }), name) }) });
const probedPod: fc.Arbitrary<V1Pod> = fc
  .tuple(generatedPod, fc.array(fc.option(fc.record({ readinessProbe: probe, livenessProbe: probe, startupProbe: probe }, { requiredKeys: [] }), { nil: undefined }), { maxLength: 3 }))
  .map(([subject, probes]) => ({
    ...subject,
    spec: { ...subject.spec!, containers: subject.spec!.containers.map((entry, index) => ({ ...entry, ...(probes[index] ?? {}) })) },
  }));

const applied = (document: unknown, operations: ReturnType<typeof podPatch>): unknown => {
  const target = structuredClone(document);
  expect(applyPatch(target, operations).every((error) => error === null)).toBe(true);
  return target;
};

describe('the direct injection patch', () => {
  it("gives the same pod as the general diff's patch, on first injection and on re-injection with another configuration", () => {
    fc.assert(
      fc.property(probedPod, configs, configs, fc.boolean(), (subject, config, earlierConfig, reinjected) => {
        const original = reinjected ? injectPod(subject, earlierConfig, { namespace: 'shop' }) : subject;
        const injected = injectPod(original, config, { namespace: 'shop' });
        const direct = applied(original, injectionPatch(original, injected));
        expect(direct).toEqual(applied(original, podPatch(original, injected)));
        expect(direct).toEqual(JSON.parse(JSON.stringify(injected)));
      }),
      { numRuns: 300 },
    );
  }, 120_000);
});

describe('admitPod on arbitrary JSON', () => {
  const config = defaultInjectorConfig();

  it('never throws whatever the pod is', () => {
    fc.assert(
      fc.property(fc.anything(), fc.constantFrom('CREATE', 'UPDATE'), fc.constantFrom('', 'ephemeralcontainers', 'status'), (anything, operation, subResource) => {
        const result = admitPod({ pod: anything as V1Pod, namespace: 'shop', namespaceLabels: undefined, operation, subResource, oldPod: anything as V1Pod }, config);
        expect(typeof result.allowed).toBe('boolean');
        if (!result.allowed) expect(result.code).toBe(400);
      }),
      { numRuns: 300 },
    );
  });

  it('never throws whatever the whole input is', () => {
    fc.assert(
      fc.property(fc.anything(), (anything) => {
        expect(typeof admitPod(anything as never, config).allowed).toBe('boolean');
      }),
      { numRuns: 300 },
    );
  });

  it('never throws on pod-like objects with odd parts', () => {
    const podLike = fc.record({
      metadata: fc.oneof(fc.anything(), fc.record({ labels: fc.anything(), annotations: fc.dictionary(fc.string(), fc.string()) })),
      spec: fc.oneof(
        fc.anything(),
        fc.record({ containers: fc.array(fc.record({ name: fc.string(), ports: fc.anything(), securityContext: fc.anything() })), hostNetwork: fc.anything() }),
      ),
    });
    fc.assert(
      fc.property(podLike, (subject) => {
        const result = admitPod({ pod: subject as V1Pod, namespace: 'shop', namespaceLabels: {}, operation: 'CREATE', subResource: '' }, config);
        expect(typeof result.allowed).toBe('boolean');
        if (!result.allowed) expect(result.code).not.toBe(500);
      }),
      { numRuns: 300 },
    );
  });
});
