// Negative status conditions (SB21). The rule is called directly, so that these tests hold whether
// or not analyze.ts registers it; the negative fixture is also run through every registered rule.
import { describe, expect, it } from 'vitest';
import type { Finding } from '../../../src/analyze/finding.ts';
import { parseManifests } from '../../../src/analyze/manifests.ts';
import { objectSet, type MeshObject } from '../../../src/analyze/objects.ts';
import { DEFAULT_MESH_ROOT_NAMESPACE } from '../../../src/analyze/rule.ts';
import { conditionRule } from '../../../src/analyze/rules/conditions.ts';
import { analyze, blocking, brief, readObjects, schemas } from './fixtures.ts';

const codes = ['SB2101'];
const positive = 'test/fixtures/analyze/conditions.positive.yaml';
const negative = 'test/fixtures/analyze/conditions.negative.yaml';

const check = (objects: MeshObject[]): Finding[] => conditionRule.check(objectSet(objects), { schemas, meshRootNamespace: DEFAULT_MESH_ROOT_NAMESPACE });

/** Every registered rule, plus this one if analyze.ts does not run it yet: each finding once. */
function everything(objects: MeshObject[]): Finding[] {
  const registered = analyze(objects);
  return [...registered, ...check(objects).filter((item) => !registered.some((other) => other.message === item.message))];
}

function inline(yaml: string): Finding[] {
  const parsed = parseManifests(yaml, 'inline.yaml', 'default');
  return check(parsed.objects.map((loaded) => loaded.object));
}

describe('NegativeConditionStatus (SB2101)', () => {
  it('reports exactly the listed findings on conditions.positive.yaml', () => {
    expect(check(readObjects(positive)).map(brief).sort()).toEqual([
      'SB2101 AuthorizationPolicy shop/audit-all',
      'SB2101 AuthorizationPolicy shop/checkout-l7',
      'SB2101 AuthorizationPolicy shop/partial',
      'SB2101 GRPCRoute shop/inventory',
      'SB2101 Gateway shop/ingress',
      'SB2101 HTTPRoute shop/storefront',
      'SB2101 HTTPRoute shop/storefront',
      'SB2101 Service shop/reviews',
      'SB2101 ServiceEntry shop/partner',
      'SB2101 WorkloadEntry shop/vm-1',
    ]);
  });

  it('reports none of them, and no error or warning from any rule, on conditions.negative.yaml', () => {
    expect(blocking(everything(readObjects(negative)), codes)).toEqual([]);
  });

  it('names the condition\'s path, type, reason and message, the parent of a route, and what to do', () => {
    const messages = check(readObjects(positive)).map((item) => `${item.kind}/${item.name}: ${item.message}`);
    expect(messages).toEqual(expect.arrayContaining([
      expect.stringMatching(/^Service\/reviews: status\.conditions\[0\] istio\.io\/WaypointBound is False \(reason WaypointNotFound: waypoint shop\/shop-waypoint not found\): .*istio\.io\/use-waypoint/),
      expect.stringMatching(/^AuthorizationPolicy\/audit-all: status\.conditions\[0\] ZtunnelAccepted is False .*AUDIT.*ALLOW or DENY/),
      expect.stringMatching(/^AuthorizationPolicy\/partial: status\.conditions\[0\] WaypointAccepted is True \(reason PartiallyInvalid: Invalid targetRefs: shop\/ratings\): .*some of spec\.targetRefs/),
      expect.stringMatching(/^HTTPRoute\/storefront: status\.parents\[0\]\.conditions\[1\] ResolvedRefs is False for parent Gateway shop\/ingress \(reason BackendNotFound: .*ReferenceGrant/),
      expect.stringMatching(/^HTTPRoute\/storefront: status\.parents\[1\]\.conditions\[0\] Accepted is False for parent Gateway edge\/public section https .*spec\.parentRefs/),
    ]));
  });

  it('says when the condition is older than the object', () => {
    const [gateway] = check(readObjects(positive)).filter((item) => item.kind === 'Gateway');
    expect(gateway?.message).toMatch(/^status\.conditions\[1\] Programmed is False \(reason AddressNotAssigned: no address assigned\) \(observed at generation 2, the object is at 3/);
  });

  it('judges each kind by its own API group and condition types', () => {
    const object = (apiVersion: string, kind: string, type: string, status = 'False') => `
apiVersion: ${apiVersion}
kind: ${kind}
metadata: { name: x, namespace: shop }
status: { conditions: [{ type: ${type}, status: "${status}" }] }
---`;
    expect(inline(object('v1', 'Service', 'istio.io/WaypointBound')).map(brief)).toEqual(['SB2101 Service shop/x']);
    // Istio's condition types are its own: a Gateway API type on a Service, or a waypoint type on a Gateway, is not judged.
    expect(inline(object('v1', 'Service', 'Accepted'))).toEqual([]);
    expect(inline(object('v1', 'Service', 'constructor'))).toEqual([]);
    expect(inline(object('gateway.networking.k8s.io/v1', 'Gateway', 'istio.io/WaypointBound'))).toEqual([]);
    expect(inline(object('gateway.networking.k8s.io/v1beta1', 'Gateway', 'ResolvedRefs')).map(brief)).toEqual(['SB2101 Gateway shop/x']);
    expect(inline(object('networking.istio.io/v1', 'Gateway', 'Programmed'))).toEqual([]);
    expect(inline(object('networking.istio.io/v1', 'WorkloadEntry', 'istio.io/WaypointBound', 'True'))).toEqual([]);
    // A route's conditions are read per parent, not at the top of its status.
    expect(inline(object('gateway.networking.k8s.io/v1', 'HTTPRoute', 'Accepted'))).toEqual([]);
    // PartiallyInvalid is only an AuthorizationPolicy's waypoint binding.
    expect(inline(object('v1', 'Service', 'WaypointAccepted', 'True').replace('status: "True"', 'status: "True", reason: PartiallyInvalid'))).toEqual([]);
  });

  it('reports nothing for objects without a status', () => {
    expect(inline(`
apiVersion: v1
kind: Service
metadata: { name: reviews, namespace: shop }
spec: { ports: [{ name: http, port: 9080 }] }
`)).toEqual([]);
  });
});
