// No false positives: meshes that are right by construction (hosts that exist, subsets that select
// the pods of Deployments, weights at 100, gateways that serve their hosts on ports their Service
// has, TLS with a CA, one Sidecar per namespace, injection on), generated at random, get no error
// and no warning from any rule; nor do they with the injector's view (--values-file, its webhooks,
// RequestAuthentications, pods running the proxy the values inject).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { readValuesFile } from '../../../src/cli/analyze/values-file.ts';
import { analyze, brief } from './fixtures.ts';
import type { MeshObject } from '../../../src/analyze/objects.ts';
import { controlPlaneShape, controlPlaneValues, largeMesh, mesh, namespaceShapes, type ControlPlaneShape, type NamespaceShape } from './generated-mesh.ts';

const scratch = mkdtempSync(join(tmpdir(), 'no-false-positives-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('analyze on meshes that are right by construction', () => {
  it('finds no error and no warning', () => {
    fc.assert(fc.property(namespaceShapes, (namespaces) => {
      const problems = analyze(mesh(namespaces)).filter((item) => item.severity !== 'info');
      expect(problems.map((item) => `${brief(item)}: ${item.message}`)).toEqual([]);
    }), { numRuns: 60 });
  });

  const valuesFile = (values: string) => {
    const file = join(scratch, 'values.json');
    writeFileSync(file, values);
    return readValuesFile(file);
  };

  it('finds none with the injector\'s view either', () => {
    fc.assert(fc.property(namespaceShapes, controlPlaneShape, (namespaces, controlPlane) => {
      const found = analyze(mesh(namespaces, controlPlane), false, { injector: valuesFile(controlPlaneValues(controlPlane)) });
      expect(found.filter((item) => item.severity !== 'info').map((item) => `${brief(item)}: ${item.message}`)).toEqual([]);
    }), { numRuns: 40 });
  });

  describe('where the injector\'s view adds objects, the rules that need it judge them: each broken in one way is found', () => {
    const shop: NamespaceShape = {
      name: 'shop', sidecar: true, revision: false, partnerApi: false,
      services: [{ name: 'reviews', grpc: false, replicas: 2, canaryWeight: 10, headerRoute: false, fqdnHosts: false, exposed: false, tls: false }],
    };
    const controlPlane: ControlPlaneShape = { tag: '1.28.3', enableNamespacesByDefault: true, cni: false, runningPods: true };
    const values = JSON.parse(controlPlaneValues(controlPlane)) as { global: { tag: string }; pilot: { env: Record<string, string> } };
    const found = (objects: MeshObject[], changed: object = values) => analyze(objects, false, { injector: valuesFile(JSON.stringify(changed)) }).map(brief);
    const objects = () => mesh([shop], controlPlane);
    const changed = (kind: string, name: string, change: (object: MeshObject) => void) => objects().map((object) => {
      if (object.kind !== kind || object.metadata.name !== name) return object;
      const copy = structuredClone(object);
      change(copy);
      return copy;
    });

    it('as generated: nothing', () => {
      expect(found(objects())).toEqual([]);
    });

    it('SB1411: the values inject a newer proxy than the running pods have', () => {
      expect(found(objects(), { ...values, global: { ...values.global, tag: '1.29.0' } })).toEqual(['SB1411 Namespace shop']);
    });

    it('SB2001: istiod may fetch JWKS from any address', () => {
      expect(found(objects(), { ...values, pilot: { ...values.pilot, env: {} } })).toEqual(['SB2001 RequestAuthentication shop/end-users']);
    });

    it('SB1410: a namespace without injection labels, injected by default', () => {
      expect(found(changed('Namespace', 'shop', (namespace) => { namespace.metadata.labels = {}; }))).toContain('SB1410 Namespace shop');
    });

    it('SB1901: a second injector selecting the same pods', () => {
      const webhooks = objects().find((object) => object.kind === 'MutatingWebhookConfiguration') as MeshObject;
      const second = { ...structuredClone(webhooks), metadata: { name: 'switchboard-injector-copy', namespace: '' } };
      expect(found([...objects(), second])).toContain('SB1901 MutatingWebhookConfiguration switchboard-injector-copy');
    });

    it('SB1412: an alpha annotation on a pod template', () => {
      expect(found(changed('Deployment', 'reviews-v1', (deploymentObject) => {
        (deploymentObject.spec as { template: { metadata: { annotations?: Record<string, string> } } }).template.metadata.annotations = { 'sidecar.istio.io/proxyCPU': '300m' };
      }))).toEqual(['SB1412 Deployment shop/reviews-v1']);
    });
  });

  it('also on the benchmark\'s large mesh', () => {
    expect(analyze(largeMesh(3_000)).filter((item) => item.severity !== 'info').map(brief)).toEqual([]);
  });
});
