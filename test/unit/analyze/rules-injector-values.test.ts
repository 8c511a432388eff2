// The checks that need the injector's view of the mesh (SB1410-SB1412, SB1901, SB2001): Istio's
// injector values from --values-file (or the injector ConfigMaps in the input), the injection
// webhooks, and istiod's environment. Run as the CLI runs them, with the values file read by the
// CLI's own reader.
import { writeFileSync, mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyzeObjects } from '../../../src/analyze/analyze.ts';
import type { Finding } from '../../../src/analyze/finding.ts';
import { parseManifests } from '../../../src/analyze/manifests.ts';
import { objectSet, type MeshObject } from '../../../src/analyze/objects.ts';
import { DEFAULT_MESH_ROOT_NAMESPACE, type InjectorValues } from '../../../src/analyze/rule.ts';
import { injectorValuesRule } from '../../../src/analyze/rules/injection-istio/injector-values.ts';
import { jwksRule } from '../../../src/analyze/rules/jwks.ts';
import { webhookRule } from '../../../src/analyze/rules/webhooks.ts';
import { readValuesFile } from '../../../src/cli/analyze/values-file.ts';
import { blocking, brief, readObjects, root, schemas } from './fixtures.ts';

const CODES = ['SB1410', 'SB1411', 'SB1412', 'SB1901', 'SB2001'];
const isOurs = (item: Finding) => CODES.includes(item.code);
const VALUES = join(root, 'test/fixtures/analyze/injector-values.values.yaml');

const scratch = mkdtempSync(join(tmpdir(), 'injector-values-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Istio's values from YAML text, through the CLI's reader. */
function values(yaml: string): InjectorValues {
  const file = join(scratch, `values-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, yaml);
  return readValuesFile(file);
}

function objectsOf(yaml: string): MeshObject[] {
  const parsed = parseManifests(yaml, 'test.yaml', 'default');
  expect(parsed.findings).toEqual([]);
  return parsed.objects.map((loaded) => loaded.object);
}

function analyzeWith(objects: MeshObject[], injector: InjectorValues | undefined, live = false): Finding[] {
  return analyzeObjects(objectSet(objects, live), { schemas, meshRootNamespace: DEFAULT_MESH_ROOT_NAMESPACE, ...(injector === undefined ? {} : { injector }) });
}

/** Every finding of these codes for the YAML, as "CODE Kind ns/name". */
function run(yaml: string, injector?: InjectorValues, live = false): string[] {
  return analyzeWith(objectsOf(yaml), injector, live).filter(isOurs).map(brief);
}

function messages(yaml: string, code: string, injector?: InjectorValues): string[] {
  return analyzeWith(objectsOf(yaml), injector).filter((item) => item.code === code).map((item) => item.message);
}

const namespace = (name: string, labels: Record<string, string> = {}) => `
apiVersion: v1
kind: Namespace
metadata: { name: ${name}, labels: ${JSON.stringify(labels)} }
---`;

/** A created, injected pod whose istio-proxy runs this image. */
const runningPod = (name: string, ns: string, image: string, annotations: Record<string, string> = {}, init = 'istio-init') => `
apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: ${ns}
  uid: ${name}-uid
  annotations: ${JSON.stringify({ 'sidecar.istio.io/status': `{"containers":["istio-proxy"],"initContainers":["${init}"]}`, ...annotations })}
spec:
  initContainers: [{ name: ${init}, image: "${image}" }]
  containers: [{ name: app, image: "app:1" }, { name: istio-proxy, image: "${image}" }]
status: { phase: Running }
---`;

const injectorConfigMap = (name: string, valuesJson: object) => `
apiVersion: v1
kind: ConfigMap
metadata: { name: ${name}, namespace: istio-system }
data:
  values: '${JSON.stringify(valuesJson)}'
---`;

describe('injector-values fixtures (with --values-file injector-values.values.yaml)', () => {
  const injector = readValuesFile(VALUES);

  it('reports exactly the listed findings on injector-values.positive.yaml', () => {
    const found = analyzeWith(readObjects('test/fixtures/analyze/injector-values.positive.yaml'), injector).filter(isOurs);
    expect(found.map(brief)).toEqual([
      'SB1901 MutatingWebhookConfiguration istio-sidecar-injector',
      'SB1901 MutatingWebhookConfiguration istio-sidecar-injector-canary',
      'SB1901 MutatingWebhookConfiguration switchboard-injector',
      'SB1411 Namespace shop',
      'SB2001 RequestAuthentication shop/end-users',
      'SB1410 Namespace legacy',
      'SB1412 Deployment shop/search',
    ]);
    const mismatch = found.find((item) => item.code === 'SB1411')?.message;
    expect(mismatch).toMatch(/^pods cart-7d9f-abcde \(registry\.example\.com\/istio\/proxyv2:1\.27\.0\), cart-7d9f-fghij \(registry\.example\.com\/istio\/proxyv2:1\.27\.0\) run /);
    expect(mismatch).toContain(`other than registry.example.com/istio/proxyv2:1.28.2, which the injector of revision default injects (--values-file ${VALUES})`);
    expect(mismatch).not.toContain('orders');
  });

  it('reports none of them, and no error or warning at all, on injector-values.negative.yaml', () => {
    const found = analyzeWith(readObjects('test/fixtures/analyze/injector-values.negative.yaml'), injector);
    expect(blocking(found, CODES)).toEqual([]);
  });

  it('reports none of the values\' checks without the values file, but judges the webhooks all the same', () => {
    const found = analyzeWith(readObjects('test/fixtures/analyze/injector-values.positive.yaml'), undefined).filter(isOurs).map(brief);
    expect(found).toEqual([
      'SB1901 MutatingWebhookConfiguration istio-sidecar-injector',
      'SB1901 MutatingWebhookConfiguration istio-sidecar-injector-canary',
      'SB1901 MutatingWebhookConfiguration switchboard-injector',
    ]);
  });

  it('declares each code once, with Istio\'s message names and levels', () => {
    expect([...injectorValuesRule.definitions, ...webhookRule.definitions, ...jwksRule.definitions].map((rule) => `${rule.code} ${rule.name} ${rule.severity}`)).toEqual([
      'SB1410 NamespaceInjectionEnabledByDefault info',
      'SB1411 PodsIstioProxyImageMismatchInNamespace warning',
      'SB1412 AlphaAnnotation info',
      'SB1901 InvalidWebhook error',
      'SB2001 JwksUriFetchUnrestricted warning',
    ]);
  });
});

describe('SB1410 NamespaceInjectionEnabledByDefault', () => {
  const enabled = values('sidecarInjectorWebhook: { enableNamespacesByDefault: true }\n');

  it('needs the values (or the injector ConfigMap) to say so: the chart\'s default is false', () => {
    expect(run(namespace('legacy'))).toEqual([]);
    expect(run(namespace('legacy'), values('global: { hub: docker.io/istio }\n'))).toEqual([]);
    expect(run(namespace('legacy'), enabled)).toEqual(['SB1410 Namespace legacy']);
  });

  it('reads the default revision\'s ConfigMap when no values file is given, and the values file over it', () => {
    const configMap = injectorConfigMap('istio-sidecar-injector', { sidecarInjectorWebhook: { enableNamespacesByDefault: true } });
    expect(run(namespace('legacy') + configMap)).toEqual(['SB1410 Namespace legacy']);
    expect(messages(namespace('legacy') + configMap, 'SB1410')[0]).toContain('(ConfigMap istio-system/istio-sidecar-injector)');
    expect(run(namespace('legacy') + configMap, values('sidecarInjectorWebhook: { enableNamespacesByDefault: false }\n'))).toEqual([]);
  });

  it('takes the setting only from values of the default revision (or tagged default), as the chart does', () => {
    expect(run(namespace('legacy'), values('revision: canary\nsidecarInjectorWebhook: { enableNamespacesByDefault: true }\n'))).toEqual([]);
    expect(run(namespace('legacy'), values('revision: canary\nrevisionTags: [default]\nsidecarInjectorWebhook: { enableNamespacesByDefault: true }\n')))
      .toEqual(['SB1410 Namespace legacy']);
  });

  it('leaves out labelled, ambient, system and control-plane namespaces, and one with an empty injection label', () => {
    const yaml = [
      namespace('on', { 'istio-injection': 'enabled' }), namespace('off', { 'istio-injection': 'disabled' }), namespace('blank', { 'istio-injection': '' }),
      namespace('rev', { 'istio.io/rev': 'canary' }), namespace('mesh', { 'istio.io/dataplane-mode': 'ambient' }),
      namespace('kube-system'), namespace('local-path-storage'), namespace('istio-system'),
    ].join('');
    expect(run(yaml, enabled)).toEqual([]);
  });

  it('replaces SB1401 for the namespace it reports', () => {
    const yaml = `${namespace('legacy')}
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: legacy }
spec:
  selector: { matchLabels: { app: web } }
  template: { metadata: { labels: { app: web } }, spec: { containers: [{ name: web, image: "web:1" }] } }
`;
    const codes = (injector?: InjectorValues) => analyzeWith(objectsOf(yaml), injector).map((item) => item.code).filter((code) => code.startsWith('SB14'));
    expect(codes()).toEqual(['SB1401']);
    expect(codes(enabled)).toEqual(['SB1410']);
  });
});

describe('SB1411 PodsIstioProxyImageMismatchInNamespace', () => {
  const release = values('global: { hub: registry.example.com/istio, tag: 1.28.2 }\n');
  const current = 'registry.example.com/istio/proxyv2:1.28.2';
  const old = 'registry.example.com/istio/proxyv2:1.27.0';

  it('expects the image the injector computes: the built-in default for values that set none', () => {
    const defaults = values('{}\n');
    expect(run(namespace('shop', { 'istio-injection': 'enabled' }) + runningPod('a', 'shop', 'docker.io/istio/proxyv2:1.27.1'), defaults)).toEqual([]);
    expect(messages(namespace('shop', { 'istio-injection': 'enabled' }) + runningPod('a', 'shop', old), 'SB1411', defaults)[0])
      .toContain('other than docker.io/istio/proxyv2:1.27.1');
  });

  it('takes a full image reference in global.proxy.image as it is, and accepts the debug and distroless variants', () => {
    const full = values('global: { hub: ignored.example.com, proxy: { image: "mirror.example.com/proxy:7" } }\n');
    const yaml = namespace('shop', { 'istio-injection': 'enabled' }) + runningPod('a', 'shop', 'mirror.example.com/proxy:7') +
      runningPod('b', 'shop', 'mirror.example.com/proxy:7-debug') + runningPod('c', 'shop', 'mirror.example.com/proxy:7-distroless');
    expect(run(yaml, full)).toEqual([]);
    expect(run(yaml + runningPod('d', 'shop', 'mirror.example.com/proxy:7-custom'), full)).toEqual(['SB1411 Namespace shop']);
  });

  it('judges only created pods of namespaces injected by the revision the values serve', () => {
    const yaml = [
      namespace('shop', { 'istio-injection': 'enabled' }), namespace('pay', { 'istio.io/rev': 'canary' }), namespace('off', { 'istio-injection': 'disabled' }),
      runningPod('a', 'pay', old), runningPod('b', 'off', old), runningPod('c', 'elsewhere', old),
    ].join('');
    expect(run(yaml, release)).toEqual([]);
    const canary = values('revision: canary\nglobal: { hub: registry.example.com/istio, tag: 1.28.2 }\n');
    expect(run(yaml, canary)).toEqual(['SB1411 Namespace pay']);
    // istio-injection=enabled wins over a revision label: the default revision's injector serves it.
    expect(run(namespace('both', { 'istio-injection': 'enabled', 'istio.io/rev': 'canary' }) + runningPod('d', 'both', old), canary)).toEqual([]);
  });

  it('reads the injector ConfigMaps of each revision without a values file, and the values file over the same revision', () => {
    const yaml = [
      namespace('shop', { 'istio-injection': 'enabled' }), namespace('pay', { 'istio.io/rev': 'canary' }),
      runningPod('a', 'shop', old), runningPod('b', 'pay', current),
      injectorConfigMap('istio-sidecar-injector', { global: { hub: 'registry.example.com/istio', tag: '1.28.2' } }),
      injectorConfigMap('istio-sidecar-injector-canary', { global: { hub: 'registry.example.com/istio', tag: '1.29.0' } }),
    ].join('');
    expect(run(yaml)).toEqual(['SB1411 Namespace pay', 'SB1411 Namespace shop']);
    expect(messages(yaml, 'SB1411').join('\n')).toContain('(ConfigMap istio-system/istio-sidecar-injector-canary)');
    expect(run(yaml, values('global: { hub: registry.example.com/istio, tag: 1.27.0 }\n'))).toEqual(['SB1411 Namespace pay']);
  });

  it('skips a pod that names its proxy image, a placeholder never injected (SB1409\'s), and a pod without istio-proxy', () => {
    const yaml = namespace('shop', { 'istio-injection': 'enabled' }) +
      runningPod('a', 'shop', old, { 'sidecar.istio.io/proxyImage': old }) + runningPod('b', 'shop', 'auto') + `
apiVersion: v1
kind: Pod
metadata: { name: c, namespace: shop, uid: c-uid }
spec: { containers: [{ name: app, image: "app:1" }] }
status: { phase: Running }
`;
    expect(run(yaml, release).filter((item) => item.startsWith('SB1411'))).toEqual([]);
  });

  it('names five pods and counts the others', () => {
    const pods = Array.from({ length: 7 }, (_, index) => runningPod(`web-${index}`, 'shop', old)).join('');
    const [message] = messages(namespace('shop', { 'istio-injection': 'enabled' }) + pods, 'SB1411', release);
    expect(message).toMatch(/^pods web-0 \(.*\), web-1 .*, web-4 \(registry\.example\.com\/istio\/proxyv2:1\.27\.0\) and 2 more run /);
  });
});

describe('SB1412 AlphaAnnotation', () => {
  const injector = values('global: { hub: docker.io/istio }\n');
  const deploymentWith = (annotations: Record<string, string>) => `
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: shop }
spec:
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web }, annotations: ${JSON.stringify(annotations)} }
    spec: { containers: [{ name: web, image: "web:1" }] }
`;

  it('is judged with --values-file only: Istio leaves its alpha analyzer out of the default run', () => {
    expect(run(deploymentWith({ 'sidecar.istio.io/proxyMemory': '256Mi' }))).toEqual([]);
    expect(run(deploymentWith({ 'sidecar.istio.io/proxyMemory': '256Mi' }), injector)).toEqual(['SB1412 Deployment shop/web']);
    expect(messages(deploymentWith({ 'sidecar.istio.io/proxyMemory': '256Mi' }), 'SB1412', injector))
      .toEqual([expect.stringMatching(/^spec\.template\.metadata\.annotations\["sidecar\.istio\.io\/proxyMemory"\]: Istio marks .* alpha feature/)]);
  });

  it('leaves out beta and stable annotations, deprecated and misplaced ones (SB1406 and SB1403 say more), and what installers set', () => {
    expect(run(deploymentWith({ 'proxy.istio.io/config': '{}', 'sidecar.istio.io/statsCompression': 'gzip', 'inject.istio.io/templates': 'gateway' }), injector)
      .filter((item) => item.startsWith('SB1412'))).toEqual([]);
    expect(run(deploymentWith({ 'inject.istio.io/templates': 'sidecar,spire' }), injector)).toEqual(['SB1412 Deployment shop/web']);
    const misplaced = `apiVersion: v1
kind: Service
metadata: { name: web, namespace: shop, annotations: { sidecar.istio.io/proxyCPU: 100m, networking.istio.io/exportTo: "." } }
spec: { ports: [{ name: http, port: 80 }] }
`;
    expect(run(misplaced, injector)).toEqual(['SB1412 Service shop/web']);
  });

  it('leaves out the annotations the injector writes on a pod it injected for Istio CNI', () => {
    const cniKeys = { 'sidecar.istio.io/interceptionMode': 'REDIRECT', 'traffic.sidecar.istio.io/includeInboundPorts': '*' };
    expect(run(runningPod('a', 'shop', 'docker.io/istio/proxyv2:1.27.1', cniKeys, 'istio-validation'), injector)).toEqual([]);
    // With istio-init the pod was not injected for CNI: someone wrote them, unless the values say CNI is on.
    expect(run(runningPod('b', 'shop', 'docker.io/istio/proxyv2:1.27.1', cniKeys), injector)).toEqual(['SB1412 Pod shop/b', 'SB1412 Pod shop/b']);
    expect(run(runningPod('c', 'shop', 'docker.io/istio/proxyv2:1.27.1', cniKeys), values('pilot: { cni: { enabled: true } }\n'))).toEqual([]);
  });
});

describe('SB1901 InvalidWebhook', () => {
  const switchboardWebhooks = `\n${readFileSync(join(root, 'config/webhook/mutating.yaml'), 'utf8')}`;
  const istioDefault = (name: string, serviceName = 'istiod', extra = '') => `
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: { name: ${name} }
webhooks:
  - name: namespace.sidecar-injector.istio.io
    clientConfig: { service: { name: ${serviceName}, namespace: istio-system } }
    namespaceSelector: { matchLabels: { istio-injection: enabled } }${extra}
---`;
  const service = (name: string, ns: string) => `
apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: ${ns} }
spec: { ports: [{ name: https, port: 443 }] }
---`;

  it('finds no overlap among Switchboard\'s own webhooks', () => {
    expect(run(switchboardWebhooks)).toEqual([]);
  });

  it('reports each webhook that shares pods with another, once, naming the others', () => {
    const found = analyzeWith(objectsOf(istioDefault('istio-sidecar-injector') + switchboardWebhooks), undefined).filter((item) => item.code === 'SB1901');
    expect(found.map(brief)).toEqual(['SB1901 MutatingWebhookConfiguration istio-sidecar-injector', 'SB1901 MutatingWebhookConfiguration switchboard-injector']);
    expect(found[0]?.message).toMatch(new RegExp([
      '^webhooks\\[0\\] \\(namespace\\.sidecar-injector\\.istio\\.io\\) selects the same pods as ',
      'switchboard-injector webhooks\\[2\\] \\(namespace\\.inject\\.switchboard\\.dev\\) ',
      '\\(for one, a pod without injection labels in a namespace labelled istio-injection=enabled\\)',
    ].join('')));
    expect(found[0]?.message).toContain('while Switchboard takes over from istiod\'s injector');
    const twoIstios = analyzeWith(objectsOf(istioDefault('istio-sidecar-injector') + istioDefault('istio-revision-tag-default')), undefined).filter((item) => item.code === 'SB1901');
    expect(twoIstios.map(brief)).toEqual(['SB1901 MutatingWebhookConfiguration istio-revision-tag-default', 'SB1901 MutatingWebhookConfiguration istio-sidecar-injector']);
    expect(twoIstios[0]?.message).not.toContain('Switchboard');
  });

  it('leaves out configurations that are not about injection: no revision and no webhook of Istio\'s', () => {
    const other = `
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: { name: policy-agent }
webhooks: [{ name: mutate.policy.example.com, clientConfig: { service: { name: agent, namespace: policy } } }]
---`;
    expect(run(other + istioDefault('istio-sidecar-injector') + service('istiod', 'istio-system'))).toEqual([]);
  });

  it('reads selectors as the API server does: a broken one selects nothing', () => {
    const broken = istioDefault('istio-sidecar-injector', 'istiod', '\n    objectSelector: { matchExpressions: [{ key: sidecar.istio.io/inject, operator: Bogus }] }');
    expect(run(broken + switchboardWebhooks)).toEqual([]);
  });

  it('says a Service is missing only where the input shows the Services of its namespace', () => {
    expect(run(istioDefault('istio-sidecar-injector', 'istiod-old'))).toEqual([]);
    expect(run(istioDefault('istio-sidecar-injector', 'istiod-old') + service('istiod', 'istio-system'))).toEqual(['SB1901 MutatingWebhookConfiguration istio-sidecar-injector']);
    const live = `${istioDefault('istio-sidecar-injector', 'istiod-old')}
apiVersion: v1
kind: Namespace
metadata: { name: istio-system, uid: 0a1b }
`;
    expect(run(live, undefined, true)).toEqual(['SB1901 MutatingWebhookConfiguration istio-sidecar-injector']);
    expect(run(live, undefined, false)).toEqual([]);
  });

  it('says what failurePolicy Ignore does instead of Fail', () => {
    const ignore = istioDefault('istio-sidecar-injector', 'istiod-old', '\n    failurePolicy: Ignore');
    expect(messages(ignore + service('istiod', 'istio-system'), 'SB1901')).toEqual([expect.stringContaining('created without a sidecar (failurePolicy: Ignore)')]);
  });

  it('takes MutatingWebhookConfigurations as cluster-wide objects', () => {
    const [webhooks] = objectsOf(istioDefault('istio-sidecar-injector'));
    expect(webhooks?.metadata.namespace).toBe('');
  });
});

describe('SB2001 JwksUriFetchUnrestricted', () => {
  const policy = (name: string, rule: string) => `
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: { name: ${name}, namespace: shop }
spec: { jwtRules: [${rule}] }
---`;
  const fetching = policy('users', '{ issuer: "https://auth.example.com", jwksUri: "https://auth.example.com/jwks" }');
  const istiod = (env: string) => `
apiVersion: apps/v1
kind: Deployment
metadata: { name: istiod, namespace: istio-system, labels: { app: istiod } }
spec:
  selector: { matchLabels: { app: istiod } }
  template:
    metadata: { labels: { app: istiod } }
    spec: { containers: [{ name: discovery, image: "pilot:1", ${env} }] }
---`;

  it('needs istiod\'s Deployment or its values: without either it cannot tell', () => {
    expect(run(fetching)).toEqual([]);
  });

  it('judges istiod\'s Deployment as Istio does, on the Deployment', () => {
    expect(run(fetching + istiod('env: []'))).toEqual(['SB2001 Deployment istio-system/istiod']);
    expect(run(fetching + istiod('env: [{ name: BLOCKED_CIDRS_IN_JWKS_URIS, value: "" }]'))).toEqual(['SB2001 Deployment istio-system/istiod']);
    expect(run(fetching + istiod('env: [{ name: BLOCKED_CIDRS_IN_JWKS_URIS, value: "10.0.0.0/8" }]'))).toEqual([]);
    expect(run(fetching + istiod('env: [{ name: BLOCKED_CIDRS_IN_JWKS_URIS, valueFrom: { configMapKeyRef: { name: istiod, key: cidrs } } }]'))).toEqual([]);
    expect(run(fetching + istiod('envFrom: [{ configMapRef: { name: istiod-env } }]'))).toEqual([]);
    // The Deployment is what runs: it wins over values that do not set the variable.
    expect(run(fetching + istiod('env: [{ name: BLOCKED_CIDRS_IN_JWKS_URIS, value: "10.0.0.0/8" }]'), values('{}\n'))).toEqual([]);
  });

  it('reads pilot.env of the values otherwise, and reports each policy that makes istiod fetch', () => {
    const second = policy('partners', '{ issuer: "https://partners.example.com" }');
    expect(run(fetching + second, values('pilot: { env: { PILOT_TRACE_SAMPLING: "1" } }\n'))).toEqual(['SB2001 RequestAuthentication shop/partners', 'SB2001 RequestAuthentication shop/users']);
    expect(run(fetching, values('pilot: { env: { BLOCKED_CIDRS_IN_JWKS_URIS: "169.254.0.0/16" } }\n'))).toEqual([]);
    expect(messages(fetching, 'SB2001', values('{}\n'))).toEqual([expect.stringMatching(/pilot\.env of --values-file .* does not set BLOCKED_CIDRS_IN_JWKS_URIS/)]);
  });

  it('leaves out policies whose keys are inline, and policies without JWT rules', () => {
    const inline = policy('inline', '{ issuer: "https://a.example.com", jwks: "{\\"keys\\":[]}" }');
    const empty = `
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: { name: empty, namespace: shop }
spec: {}
---`;
    expect(run(inline + empty + istiod('env: []'), values('{}\n'))).toEqual([]);
  });
});
