// For any combination of the four resource annotations that Istio and Kubernetes accept, the pod is
// admitted and its proxy's requests are at most its limits (the defaults give way, with a warning).
import type { V1Container } from '@kubernetes/client-node';
import fc from 'fast-check';
import { applyPatch } from 'rfc6902';
import { describe, expect, it } from 'vitest';
import { admitPod } from '../../../src/injector/admit.ts';
import { defaultInjectorConfig } from '../../../src/injector/config.ts';
import { parseQuantity } from '../../../src/injector/quantity.ts';
import { admissionInput, pod } from './pods.ts';

const cpu = fc.oneof(
  fc.integer({ min: 1, max: 4000 }).map((millicores) => `${millicores}m`),
  fc.integer({ min: 1, max: 8 }).map(String),
  fc.constantFrom('0.25', '1.5', '100m', '500m'),
);
const memory = fc.oneof(
  fc.integer({ min: 16, max: 4096 }).map((mebibytes) => `${mebibytes}Mi`),
  fc.integer({ min: 1, max: 4 }).map((gibibytes) => `${gibibytes}Gi`),
  fc.integer({ min: 50, max: 2000 }).map((megabytes) => `${megabytes}M`),
  fc.constantFrom('128Mi', '256Mi', '1G'),
);

const annotations = fc
  .record(
    {
      'sidecar.istio.io/proxyCPU': cpu,
      'sidecar.istio.io/proxyCPULimit': cpu,
      'sidecar.istio.io/proxyMemory': memory,
      'sidecar.istio.io/proxyMemoryLimit': memory,
    },
    { requiredKeys: [] },
  )
  // Both sides annotated with the request above the limit is a pod Kubernetes rejects whoever injects it.
  .filter((chosen) => !contradicts(chosen['sidecar.istio.io/proxyCPU'], chosen['sidecar.istio.io/proxyCPULimit']))
  .filter((chosen) => !contradicts(chosen['sidecar.istio.io/proxyMemory'], chosen['sidecar.istio.io/proxyMemoryLimit']));

function contradicts(request: string | undefined, limit: string | undefined): boolean {
  return request !== undefined && limit !== undefined && (parseQuantity(request) ?? 0) > (parseQuantity(limit) ?? 0);
}

describe('proxy resources from any accepted annotations', () => {
  it('admits the pod, and every request of the proxy and istio-init is at most its limit', () => {
    const config = defaultInjectorConfig();
    fc.assert(
      fc.property(annotations, (chosen) => {
        const subject = pod({ annotations: chosen as Record<string, string> });
        const result = admitPod(admissionInput(subject), config);
        expect(result.allowed).toBe(true);
        if (!result.allowed) return;
        const injected = structuredClone(subject);
        applyPatch(injected, result.patch);
        const injectedContainers: V1Container[] = [...(injected.spec?.containers ?? []), ...(injected.spec?.initContainers ?? [])].filter((container) =>
          ['istio-proxy', 'istio-init'].includes(container.name),
        );
        expect(injectedContainers).toHaveLength(2);
        for (const container of injectedContainers) {
          for (const resource of ['cpu', 'memory'] as const) {
            const request = container.resources?.requests?.[resource];
            const limit = container.resources?.limits?.[resource];
            if (request !== undefined && limit !== undefined) expect(parseQuantity(request) ?? 0).toBeLessThanOrEqual(parseQuantity(limit) ?? 0);
          }
        }
        // Every annotated value is kept as written.
        const proxyResources = injectedContainers.find((container) => container.name === 'istio-proxy')?.resources;
        if (chosen['sidecar.istio.io/proxyCPU']) expect(proxyResources?.requests?.cpu).toBe(chosen['sidecar.istio.io/proxyCPU']);
        if (chosen['sidecar.istio.io/proxyMemoryLimit']) expect(proxyResources?.limits?.memory).toBe(chosen['sidecar.istio.io/proxyMemoryLimit']);
      }),
      { seed: 8, numRuns: 300 },
    );
  });
});
