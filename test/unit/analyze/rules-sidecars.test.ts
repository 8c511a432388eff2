// Sidecars (SB13): fixtures with and without the cluster, then pods, templates, namespaces and
// ambient mode.
import { describe, expect, it } from 'vitest';
import { parseManifests } from '../../../src/analyze/manifests.ts';
import { analyze, analyzeFiles, blocking, brief, readObjects } from './fixtures.ts';

const codes = ['SB1301', 'SB1302', 'SB1303'];
const positive = 'test/fixtures/analyze/sidecars.positive.yaml';
const negative = 'test/fixtures/analyze/sidecars.negative.yaml';

function run(yaml: string, live = false) {
  const parsed = parseManifests(yaml, 'inline.yaml', 'default');
  return analyze(parsed.objects.map((loaded) => loaded.object), live).filter((item) => codes.includes(item.code));
}

const sidecar = (name: string, namespace: string, labels = '') => `
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: ${name}, namespace: ${namespace} }
spec:
  ${labels === '' ? '' : `workloadSelector: { labels: ${labels} }`}
  egress: [{ hosts: ["./*"] }]
---`;

const pod = (name: string, namespace: string, labels: string, extra = '') => `
apiVersion: v1
kind: Pod
metadata: { name: ${name}, namespace: ${namespace}, labels: ${labels}${extra} }
spec: { containers: [{ name: app, image: registry.example.com/app:1.0.0 }] }
---`;

const namespace = (name: string, labels: string) => `
apiVersion: v1
kind: Namespace
metadata: { name: ${name}, labels: ${labels} }
---`;

describe('Sidecar rules (SB13)', () => {
  it('reports SB1301 and SB1302 on sidecars.positive.yaml', () => {
    expect(analyzeFiles(positive).filter((item) => codes.includes(item.code)).map(brief)).toEqual([
      'SB1302 Sidecar shop/checkout',
      'SB1301 Sidecar shop/default',
      'SB1301 Sidecar shop/shop-egress',
      'SB1302 Sidecar shop/web-tier',
    ]);
  });

  it('reports SB1303 too with the cluster\'s pods', () => {
    expect(analyze(readObjects(positive), true).filter((item) => codes.includes(item.code)).map(brief)).toEqual([
      'SB1303 Sidecar shop/cart',
      'SB1302 Sidecar shop/checkout',
      'SB1301 Sidecar shop/default',
      'SB1301 Sidecar shop/shop-egress',
      'SB1302 Sidecar shop/web-tier',
    ]);
  });

  it.each([false, true])('reports none of them, and no error or warning, on sidecars.negative.yaml (live: %s)', (live) => {
    expect(blocking(analyze(readObjects(negative), live), codes)).toEqual([]);
  });

  it('names the other Sidecars, the selected workloads and the fix', () => {
    const messages = analyze(readObjects(positive), true).filter((item) => codes.includes(item.code)).map((item) => item.message);
    expect(messages).toEqual([
      expect.stringMatching(/^spec\.workloadSelector\.labels \(app=cart\) selects no pod in namespace shop.*kubectl get pods -n shop -l app=cart/),
      expect.stringMatching(/^spec\.workloadSelector\.labels \(app=checkout\) selects the pods of Deployment checkout, which Sidecar web-tier selects too/),
      expect.stringMatching(/^has no spec\.workloadSelector labels, like Sidecar shop-egress of namespace shop: .*merge them/),
      expect.stringMatching(/^has no spec\.workloadSelector labels, like Sidecar default of namespace shop/),
      expect.stringMatching(/^spec\.workloadSelector\.labels \(tier=web\) selects the pods of Deployment checkout, which Sidecar checkout selects too/),
    ]);
  });

  describe('SB1301', () => {
    it('counts each namespace on its own, and names every other Sidecar', () => {
      expect(run(sidecar('default', 'shop') + sidecar('default', 'orders'))).toEqual([]);
      const found = run(sidecar('a', 'shop') + sidecar('b', 'shop') + sidecar('c', 'shop'));
      expect(found.map(brief)).toEqual(['SB1301 Sidecar shop/a', 'SB1301 Sidecar shop/b', 'SB1301 Sidecar shop/c']);
      expect(found[0]?.message).toMatch(/like Sidecar b, c of namespace shop/);
    });

    it('leaves namespaces in ambient mode alone (there is no sidecar), unless injection is on', () => {
      const twice = sidecar('a', 'shop') + sidecar('b', 'shop');
      expect(run(namespace('shop', '{ istio.io/dataplane-mode: ambient }') + twice)).toEqual([]);
      expect(run(namespace('shop', '{ istio.io/dataplane-mode: ambient, istio-injection: enabled }') + twice)).toHaveLength(2);
    });
  });

  describe('SB1302', () => {
    it('needs a pod or pod template that both select, in the Sidecars\' namespace', () => {
      const both = sidecar('a', 'shop', '{ app: web }') + sidecar('b', 'shop', '{ tier: front }');
      expect(run(both)).toEqual([]);
      expect(run(both + pod('web-1', 'shop', '{ app: web }') + pod('front-1', 'shop', '{ tier: front }'))).toEqual([]);
      expect(run(both + pod('web-1', 'orders', '{ app: web, tier: front }'))).toEqual([]);
      expect(run(both + pod('web-1', 'shop', '{ app: web, tier: front }')).map(brief)).toEqual(['SB1302 Sidecar shop/a', 'SB1302 Sidecar shop/b']);
    });

    it('judges a controller\'s pods once, through its template', () => {
      const yaml = `${sidecar('a', 'shop', '{ app: web }')}${sidecar('b', 'shop', '{ app: web }')}
apiVersion: apps/v1
kind: ReplicaSet
metadata: { name: web-5d8, namespace: shop }
spec:
  selector: { matchLabels: { app: web } }
  template: { metadata: { labels: { app: web } }, spec: { containers: [{ name: web, image: registry.example.com/web:1 }] } }
---
${pod('web-5d8-x', 'shop', '{ app: web }', ', ownerReferences: [{ kind: ReplicaSet, name: web-5d8, controller: true, apiVersion: apps/v1, uid: u }]')}`;
      const found = run(yaml);
      expect(found.map(brief)).toEqual(['SB1302 Sidecar shop/a', 'SB1302 Sidecar shop/b']);
      expect(found[0]?.message).toMatch(/selects the pods of ReplicaSet web-5d8, which Sidecar b selects too/);
    });

    it('leaves pods in ambient mode alone', () => {
      const both = sidecar('a', 'shop', '{ app: web }') + sidecar('b', 'shop', '{ app: web }');
      expect(run(both + pod('web-1', 'shop', '{ app: web }', ', annotations: { ambient.istio.io/redirection: enabled }'))).toEqual([]);
    });
  });

  describe('SB1303', () => {
    it('is judged only with the cluster, and only in namespaces whose pods were read', () => {
      const yaml = sidecar('a', 'shop', '{ app: web }') + pod('other', 'shop', '{ app: other }');
      expect(run(yaml)).toEqual([]);
      expect(run(yaml, true).map(brief)).toEqual(['SB1303 Sidecar shop/a']);
      expect(run(sidecar('a', 'orders', '{ app: web }') + pod('other', 'shop', '{ app: other }'), true)).toEqual([]);
    });

    it('counts any pod and any pod template that carries the labels', () => {
      const template = `
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: shop }
spec:
  replicas: 0
  selector: { matchLabels: { app: web } }
  template: { metadata: { labels: { app: web } }, spec: { containers: [{ name: web, image: registry.example.com/web:1 }] } }
---`;
      expect(run(sidecar('a', 'shop', '{ app: web }') + pod('other', 'shop', '{ app: other }') + template, true)).toEqual([]);
      expect(run(sidecar('a', 'shop', '{ app: web }') + pod('web-1', 'shop', '{ app: web, version: v1 }'), true)).toEqual([]);
      expect(run(sidecar('a', 'shop') + pod('other', 'shop', '{ app: other }'), true)).toEqual([]);
    });
  });
});
