// The workload selector rule (SB17xx) on its fixtures, then each edge of what it judges: which
// input shows a namespace's workloads, the root namespace, targetRefs, and pods without a proxy.
import { describe, expect, it } from 'vitest';
import { analyzeObjects } from '../../../src/analyze/analyze.ts';
import { objectSet, type MeshObject } from '../../../src/analyze/objects.ts';
import { analyze, analyzeFiles, blocking, brief, readObjects, schemas } from './fixtures.ts';

const CODES = ['SB1701'];
const POSITIVE = 'test/fixtures/analyze/workload-selectors.positive.yaml';
const NEGATIVE = 'test/fixtures/analyze/workload-selectors.negative.yaml';

const ours = (objects: MeshObject[], live = false) => analyze(objects, live).filter((item) => CODES.includes(item.code));
const briefs = (objects: MeshObject[], live = false) => ours(objects, live).map(brief);

function namespace(name: string, labels: Record<string, string> = {}, uid?: string): MeshObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, namespace: '', labels, ...(uid === undefined ? {} : { uid }) } };
}

function policy(kind: string, name: string, ns: string, spec: Record<string, unknown>): MeshObject {
  return { apiVersion: 'security.istio.io/v1', kind, metadata: { name, namespace: ns }, spec };
}

const authorization = (name: string, ns: string, selector?: Record<string, string>, extra: Record<string, unknown> = {}) =>
  policy('AuthorizationPolicy', name, ns, {
    ...(selector === undefined ? {} : { selector: { matchLabels: selector } }),
    action: 'DENY', rules: [{ to: [{ operation: { paths: ['/admin/*'] } }] }], ...extra,
  });

function deployment(name: string, ns: string, labels: Record<string, string>, annotations: Record<string, string> = {}): MeshObject {
  return {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: ns },
    spec: {
      selector: { matchLabels: labels },
      template: { metadata: { labels, annotations }, spec: { containers: [{ name, image: `registry.example.com/${name}:1.0` }] } },
    },
  };
}

function pod(name: string, ns: string, labels: Record<string, string>, proxy = true): MeshObject {
  const containers = [{ name, image: `registry.example.com/${name}:1.0` }, ...(proxy ? [{ name: 'istio-proxy', image: 'proxyv2' }] : [])];
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns, labels, uid: `${name}-uid` }, spec: { containers }, status: { phase: 'Running' } };
}

describe('workload selector rule on its fixtures', () => {
  it('reports exactly the listed findings on workload-selectors.positive.yaml', () => {
    expect(analyzeFiles(POSITIVE).filter((item) => CODES.includes(item.code)).map(brief)).toEqual([
      'SB1701 AuthorizationPolicy legacy/billing-admin',
      'SB1701 AuthorizationPolicy legacy/deny-debug',
      'SB1701 PeerAuthentication reports/nightly-strict',
      'SB1701 AuthorizationPolicy shop/cart-callers',
      'SB1701 PeerAuthentication shop/cart-v2',
      'SB1701 RequestAuthentication shop/orders-jwt',
    ]);
  });

  it('reports none of them, and no error or warning, on workload-selectors.negative.yaml', () => {
    const found = analyzeFiles(NEGATIVE);
    expect(blocking(found, CODES)).toEqual([]);
  });

  it('says in each message what happens and what to do, with the field path', () => {
    const found = analyzeFiles(POSITIVE).filter((item) => CODES.includes(item.code));
    const about = (name: string) => found.filter((item) => item.name === name).map((item) => item.message);
    expect(about('cart-callers')).toEqual([expect.stringMatching(
      new RegExp('^spec\\.selector\\.matchLabels \\(app=carts\\) matches no pod in namespace shop ' +
        '\\(the input shows Deployment shop/cart, StatefulSet shop/orders\\): no proxy enforces its rules.*; ' +
        'correct the labels .*kubectl get pods -n shop --show-labels'),
    )]);
    expect(about('orders-jwt')).toEqual([expect.stringContaining('no proxy validates the JWTs it describes')]);
    expect(about('cart-v2')).toEqual([expect.stringContaining('(app=cart,version=v2)')]);
    expect(about('billing-admin')).toEqual([expect.stringMatching(
      new RegExp('^spec\\.selector\\.matchLabels \\(app=billing\\) matches only pods that run no Istio proxy ' +
        '\\(Deployment legacy/billing: namespace legacy has neither istio-injection=enabled.*enable sidecar injection'),
    )]);
    expect(about('deny-debug')).toEqual([
      expect.stringMatching(/^has no spec\.selector\.matchLabels, so it applies to every workload of namespace legacy, but none of their pods runs an Istio proxy/),
    ]);
    expect(about('nightly-strict')).toEqual([expect.stringContaining('CronJob reports/nightly: pod label sidecar.istio.io/inject="false" opts the pod out')]);
    expect(about('nightly-strict')[0]).toContain('the mTLS mode it sets applies to no workload');
  });
});

describe('what the input must show', () => {
  const shop = namespace('shop', { 'istio-injection': 'enabled' });

  it('judges a namespace only when the input holds a workload of it, not a bare Pod from a file', () => {
    const policyOnly = [shop, authorization('carts', 'shop', { app: 'carts' })];
    expect(briefs(policyOnly)).toEqual([]);
    // A Pod read from a file (no uid), as the debug pods of a manifest directory are.
    const withDebugPod = [...policyOnly, { ...pod('debug', 'shop', { run: 'debug' }), metadata: { name: 'debug', namespace: 'shop' } }];
    expect(briefs(withDebugPod)).toEqual([]);
    expect(briefs([...policyOnly, deployment('cart', 'shop', { app: 'cart' })])).toEqual(['SB1701 AuthorizationPolicy shop/carts']);
  });

  it('judges a namespace read from the cluster by its pods, and says when it has none', () => {
    const live = namespace('shop', { 'istio-injection': 'enabled' }, 'shop-uid');
    expect(briefs([live, pod('cart-1', 'shop', { app: 'cart' }), authorization('cart', 'shop', { app: 'cart' })], true)).toEqual([]);
    expect(briefs([live, pod('cart-1', 'shop', { app: 'cart' }), authorization('carts', 'shop', { app: 'carts' })], true))
      .toEqual(['SB1701 AuthorizationPolicy shop/carts']);
    const empty = ours([live, authorization('cart', 'shop', { app: 'cart' }), authorization('all', 'shop')], true);
    expect(empty.map(brief)).toEqual(['SB1701 AuthorizationPolicy shop/all', 'SB1701 AuthorizationPolicy shop/cart']);
    expect(empty[1]?.message).toMatch(/^spec\.selector\.matchLabels \(app=cart\) selects pods of namespace shop, which has no pod: /);
    expect(empty[0]?.message).toMatch(/^applies to every workload of namespace shop, which has no pod: /);
    // The same without --cluster, or with a Namespace from a file (no uid): not judged.
    expect(briefs([live, authorization('cart', 'shop', { app: 'cart' })])).toEqual([]);
    expect(briefs([shop, authorization('cart', 'shop', { app: 'cart' })], true)).toEqual([]);
  });

  it('counts the pod templates of every workload kind, Rollouts included', () => {
    const rollout = (apiVersion: string): MeshObject => ({
      apiVersion, kind: 'Rollout', metadata: { name: 'cart', namespace: 'shop' },
      spec: { template: { metadata: { labels: { app: 'cart' } }, spec: { containers: [{ name: 'cart', image: 'cart:1' }] } } },
    });
    const job: MeshObject = {
      apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'migrate', namespace: 'shop' },
      spec: { template: { metadata: { labels: { app: 'migrate' } }, spec: { restartPolicy: 'Never', containers: [{ name: 'migrate', image: 'migrate:1' }] } } },
    };
    const policies = [authorization('cart', 'shop', { app: 'cart' }), authorization('migrate', 'shop', { app: 'migrate' })];
    expect(briefs([shop, rollout('switchboard.dev/v1alpha1'), job, ...policies])).toEqual([]);
    expect(briefs([shop, rollout('argoproj.io/v1alpha1'), job, ...policies])).toEqual([]);
    expect(briefs([shop, job, ...policies])).toEqual(['SB1701 AuthorizationPolicy shop/cart']);
  });
});

describe('the root namespace', () => {
  const everyNamespace = [namespace('istio-system', {}, 'a'), namespace('shop', { 'istio-injection': 'enabled' }, 'b')];

  it('is judged only when every namespace was read from the cluster, against the pods of all of them', () => {
    const ingress = authorization('ingress', 'istio-system', { istio: 'ingressgateway' });
    expect(briefs([ingress, pod('cart-1', 'shop', { app: 'cart' }), deployment('istiod', 'istio-system', { app: 'istiod' })])).toEqual([]);
    // --cluster -n shop: one namespace read, the root's pods unknown.
    expect(briefs([everyNamespace[1] as MeshObject, ingress, pod('cart-1', 'shop', { app: 'cart' })], true)).toEqual([]);
    const found = ours([...everyNamespace, ingress, pod('cart-1', 'shop', { app: 'cart' })], true);
    expect(found.map(brief)).toEqual(['SB1701 AuthorizationPolicy istio-system/ingress']);
    expect(found[0]?.message).toContain('matches no pod in any namespace (it is in the root namespace istio-system, so its selector picks pods mesh-wide)');
    expect(found[0]?.message).toContain('kubectl get pods -A --show-labels');
    // A match in another namespace is enough.
    expect(briefs([...everyNamespace, authorization('cart', 'istio-system', { app: 'cart' }), pod('cart-1', 'shop', { app: 'cart' })], true))
      .toEqual([]);
  });

  it('never judges a root-namespace policy without selector labels: it is mesh-wide', () => {
    const meshWide = [authorization('mesh', 'istio-system'), authorization('mesh-empty', 'istio-system', {})];
    expect(briefs([...everyNamespace, ...meshWide], true)).toEqual([]);
    expect(briefs([...everyNamespace, ...meshWide, pod('legacy-1', 'shop', { app: 'legacy' }, false), deployment('x', 'istio-system', { app: 'x' })], true))
      .toEqual([]);
  });

  it('follows --mesh-root-namespace', () => {
    const objects = (root: string) => [deployment('cart', root, { app: 'cart' }), authorization('carts', root, { app: 'carts' })];
    const withRoot = (found: MeshObject[], root: string) =>
      analyzeObjects(objectSet(found), { schemas, meshRootNamespace: root }).filter((item) => CODES.includes(item.code)).map(brief);
    expect(withRoot(objects('mesh-root'), 'mesh-root')).toEqual([]);
    expect(withRoot(objects('istio-system'), 'mesh-root')).toEqual(['SB1701 AuthorizationPolicy istio-system/carts']);
  });
});

describe('what a policy can select', () => {
  const shop = namespace('shop', { 'istio-injection': 'enabled' });
  const legacy = namespace('legacy');

  it('does not judge a policy bound by targetRef or targetRefs, even where no pod has a proxy', () => {
    const targetRef = { targetRef: { group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'edge' } };
    const targetRefs = { targetRefs: [{ group: '', kind: 'Service', name: 'billing' }] };
    const objects = [
      legacy, deployment('billing', 'legacy', { app: 'billing' }),
      authorization('one', 'legacy', undefined, targetRef), authorization('many', 'legacy', undefined, targetRefs),
    ];
    expect(briefs(objects)).toEqual([]);
    expect(briefs([...objects, authorization('all', 'legacy')])).toEqual(['SB1701 AuthorizationPolicy legacy/all']);
  });

  it('reads an empty selector as namespace-wide', () => {
    expect(briefs([shop, deployment('cart', 'shop', { app: 'cart' }), authorization('empty', 'shop', {})])).toEqual([]);
    expect(briefs([legacy, deployment('billing', 'legacy', { app: 'billing' }), authorization('empty', 'legacy', {})]))
      .toEqual(['SB1701 AuthorizationPolicy legacy/empty']);
  });

  it('is satisfied by one selected pod with a proxy among several without', () => {
    const objects = [
      legacy, deployment('billing', 'legacy', { app: 'billing' }), deployment('billing-canary', 'legacy', { app: 'billing' }),
      authorization('billing', 'legacy', { app: 'billing' }),
    ];
    expect(briefs(objects)).toEqual(['SB1701 AuthorizationPolicy legacy/billing']);
    const injected = deployment('billing-v2', 'legacy', { app: 'billing', 'sidecar.istio.io/inject': 'true' });
    expect(briefs([...objects, injected])).toEqual([]);
  });

  it('counts a pod that already runs istio-proxy, and ambient pods, as having a proxy', () => {
    const live = namespace('legacy', {}, 'legacy-uid');
    expect(briefs([live, pod('billing-1', 'legacy', { app: 'billing' }), authorization('billing', 'legacy', { app: 'billing' })], true)).toEqual([]);
    expect(briefs([live, pod('billing-1', 'legacy', { app: 'billing' }, false), authorization('billing', 'legacy', { app: 'billing' })], true))
      .toEqual(['SB1701 AuthorizationPolicy legacy/billing']);
    const redirected = pod('billing-1', 'legacy', { app: 'billing' }, false);
    redirected.metadata.annotations = { 'ambient.istio.io/redirection': 'enabled' };
    expect(briefs([live, redirected, authorization('billing', 'legacy', { app: 'billing' })], true)).toEqual([]);
    const ambient = namespace('legacy', { 'istio.io/dataplane-mode': 'ambient' });
    expect(briefs([ambient, deployment('billing', 'legacy', { app: 'billing' }), authorization('billing', 'legacy', { app: 'billing' })])).toEqual([]);
    const policyFor = authorization('billing', 'legacy', { app: 'billing' });
    expect(briefs([ambient, deployment('billing', 'legacy', { app: 'billing', 'istio.io/dataplane-mode': 'none' }), policyFor]))
      .toEqual(['SB1701 AuthorizationPolicy legacy/billing']);
    expect(briefs([legacy, deployment('billing', 'legacy', { app: 'billing', 'istio.io/dataplane-mode': 'ambient' }), policyFor])).toEqual([]);
  });

  it('says nothing about injection when the input cannot tell it', () => {
    // No Namespace object: its labels are unknown.
    expect(briefs([deployment('billing', 'legacy', { app: 'billing' }), authorization('billing', 'legacy', { app: 'billing' })])).toEqual([]);
    // istiod injects namespaces without labels (enableNamespacesByDefault).
    const injector: MeshObject = {
      apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'istio-sidecar-injector', namespace: 'istio-system' },
      data: { values: JSON.stringify({ sidecarInjectorWebhook: { enableNamespacesByDefault: true } }) },
    };
    expect(briefs([legacy, injector, deployment('billing', 'legacy', { app: 'billing' }), authorization('billing', 'legacy', { app: 'billing' })])).toEqual([]);
  });

  it('judges the three security.istio.io kinds only', () => {
    const objects = [shop, deployment('cart', 'shop', { app: 'cart' })];
    const other = { ...authorization('carts', 'shop', { app: 'carts' }), apiVersion: 'example.com/v1' };
    const metadata = { name: 'carts', namespace: 'shop' };
    const sidecar: MeshObject = { apiVersion: 'networking.istio.io/v1', kind: 'Sidecar', metadata, spec: { workloadSelector: { labels: { app: 'carts' } } } };
    const telemetry: MeshObject = { apiVersion: 'telemetry.istio.io/v1', kind: 'Telemetry', metadata, spec: { selector: { matchLabels: { app: 'carts' } } } };
    expect(briefs([...objects, other, sidecar, telemetry])).toEqual([]);
    const all = ['AuthorizationPolicy', 'RequestAuthentication', 'PeerAuthentication']
      .map((kind) => policy(kind, 'carts', 'shop', { selector: { matchLabels: { app: 'carts' } } }));
    expect(briefs([...objects, ...all])).toEqual([
      'SB1701 AuthorizationPolicy shop/carts', 'SB1701 PeerAuthentication shop/carts', 'SB1701 RequestAuthentication shop/carts',
    ]);
  });

  it('reads the negative fixture the same with or without --cluster', () => {
    expect(briefs(readObjects(NEGATIVE), true)).toEqual([]);
  });
});
