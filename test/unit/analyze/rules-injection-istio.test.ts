// Injection as Istio's analyzers see it (SB14xx), on its fixtures and on edge cases.
import { describe, expect, it } from 'vitest';
import type { Finding } from '../../../src/analyze/finding.ts';
import { parseManifests } from '../../../src/analyze/manifests.ts';
import { objectSet } from '../../../src/analyze/objects.ts';
import { injectionIstioRule } from '../../../src/analyze/rules/injection-istio/injection-istio.ts';
import { defaultInjectorConfig } from '../../../src/injector/config.ts';
import { injectManifests } from '../../../src/injector/offline.ts';
import { analyze, analyzeFiles, brief, schemas } from './fixtures.ts';

const CODES = ['SB1401', 'SB1402', 'SB1403', 'SB1404', 'SB1405', 'SB1406', 'SB1407', 'SB1408', 'SB1409'];
const isOurs = (item: Finding) => CODES.includes(item.code);

function objectsOf(yaml: string) {
  const parsed = parseManifests(yaml, 'test.yaml', 'default');
  expect(parsed.findings).toEqual([]);
  return parsed.objects.map((loaded) => loaded.object);
}

/** Every SB14xx finding of the YAML, as "CODE Kind ns/name". */
function run(yaml: string, live = false): string[] {
  return analyze(objectsOf(yaml), live).filter(isOurs).map(brief);
}

function messages(yaml: string, code: string, live = false): string[] {
  return analyze(objectsOf(yaml), live).filter((item) => item.code === code).map((item) => item.message);
}

const namespace = (name: string, labels: Record<string, string> = {}) => `
apiVersion: v1
kind: Namespace
metadata: { name: ${name}, labels: ${JSON.stringify(labels)} }
---`;

const deployment = (name: string, ns: string, template: { labels?: Record<string, string>; annotations?: Record<string, string>; spec?: string }) => `
apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name}, namespace: ${ns} }
spec:
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata: { labels: ${JSON.stringify({ app: name, ...template.labels })}, annotations: ${JSON.stringify(template.annotations ?? {})} }
    spec: ${template.spec ?? '{ containers: [{ name: app, image: "app:1" }] }'}
---`;

const autoProxy = '{ containers: [{ name: istio-proxy, image: auto }] }';

describe('injection-istio fixtures', () => {
  it('reports exactly the listed findings on injection-istio.positive.yaml', () => {
    const found = analyzeFiles('test/fixtures/analyze/injection-istio.positive.yaml').filter(isOurs);
    expect(found.map(brief)).toEqual([
      'SB1409 Pod legacy/ingress-7d9f-abcde',
      'SB1408 Deployment shop/worker', 'SB1408 Deployment shop/worker', 'SB1408 Deployment shop/worker',
      'SB1402 Namespace hybrid',
      'SB1402 Namespace payments',
      'SB1403 Namespace shop',
      'SB1407 Deployment legacy/ingress',
      'SB1403 Deployment shop/api', 'SB1403 Deployment shop/api',
      'SB1404 Deployment shop/catalog',
      'SB1405 Deployment shop/catalog',
      'SB1403 Pod shop/debug',
      'SB1405 Pod shop/debug',
      'SB1403 Service shop/api',
      'SB1407 StatefulSet shop/egress',
      'SB1401 Namespace legacy',
      'SB1406 Deployment shop/api',
      'SB1406 Deployment shop/catalog',
    ]);
  });

  it('reports none of them, and no error or warning at all, on injection-istio.negative.yaml', () => {
    const found = analyzeFiles('test/fixtures/analyze/injection-istio.negative.yaml');
    expect(found.filter((item) => isOurs(item) || item.severity !== 'info').map((item) => `${brief(item)}: ${item.message}`)).toEqual([]);
  });

  it('declares each code once, with Istio\'s message names and levels', () => {
    expect(injectionIstioRule.definitions.map((rule) => `${rule.code} ${rule.name} ${rule.severity}`)).toEqual([
      'SB1401 NamespaceNotInjected info',
      'SB1402 NamespaceMultipleInjectionLabels warning',
      'SB1403 MisplacedAnnotation warning',
      'SB1404 UnknownAnnotation warning',
      'SB1405 InvalidAnnotation warning',
      'SB1406 DeprecatedAnnotation info',
      'SB1407 ImageAutoWithoutInjectionWarning warning',
      'SB1408 InjectorRefusesPod error',
      'SB1409 ImageAutoWithoutInjectionError error',
    ]);
  });
});

describe('SB1401 NamespaceNotInjected', () => {
  /** A namespace with a workload in it: only then does a missing label leave pods out. */
  const populated = (name: string, labels: Record<string, string> = {}) => namespace(name, labels) + deployment('app', name, {});

  it('skips the namespaces Istio never judges: istio-system, the Kubernetes system ones, the mesh root, ambient ones', () => {
    const yaml = ['istio-system', 'kube-system', 'kube-public', 'kube-node-lease', 'local-path-storage'].map((name) => populated(name)).join('') +
      populated('ambient-apps', { 'istio.io/dataplane-mode': 'ambient' }) + populated('apps');
    expect(run(yaml)).toEqual(['SB1401 Namespace apps']);
    const objects = objectSet(objectsOf(populated('mesh-config') + populated('apps')));
    expect(injectionIstioRule.check(objects, { schemas, meshRootNamespace: 'mesh-config' }).map(brief)).toEqual(['SB1401 Namespace apps']);
  });

  it('counts an empty istio-injection as no label, and a revision alone as injected', () => {
    expect(run(populated('a', { 'istio-injection': '' }) + populated('b', { 'istio.io/rev': '1-27' }) + populated('c', { 'istio-injection': 'disabled' })))
      .toEqual(['SB1401 Namespace a']);
  });

  it('needs a pod in the input that the label would inject: not a namespace of configuration only, nor pods that opt in or out', () => {
    const optedIn = deployment('canary', 'b', { labels: { 'istio.io/rev': 'canary' } }) +
      deployment('opted', 'b', { labels: { 'sidecar.istio.io/inject': 'true' } });
    const optedOut = deployment('batch', 'c', { labels: { 'sidecar.istio.io/inject': 'false' } }) +
      deployment('node', 'c', { spec: '{ hostNetwork: true, containers: [{ name: agent, image: "agent:1" }] }' });
    expect(run(namespace('a') + namespace('b') + optedIn + namespace('c') + optedOut)).toEqual([]);
  });

  it('is quiet when istiod injects namespaces by default (enableNamespacesByDefault)', () => {
    const configMap = `
apiVersion: v1
kind: ConfigMap
metadata: { name: istio-sidecar-injector, namespace: istio-system }
data:
  values: '{"sidecarInjectorWebhook":{"enableNamespacesByDefault":true}}'
---`;
    expect(run(populated('apps') + configMap)).toEqual([]);
  });

  it('names a workload left out, and says how to turn injection on or record that the namespace stays out', () => {
    expect(messages(populated('apps'), 'SB1401'))
      .toEqual([expect.stringMatching(/\(such as the pods of Deployment app\).*istio-injection=enabled.*istio-injection=disabled/)]);
  });
});

describe('SB1402 NamespaceMultipleInjectionLabels', () => {
  it('counts a revision or a dataplane mode only next to an enabled istio-injection', () => {
    expect(run(namespace('a', { 'istio-injection': 'disabled', 'istio.io/rev': 'canary' }) +
      namespace('b', { 'istio-injection': 'enabled', 'istio.io/dataplane-mode': 'ambient' }) +
      namespace('c', { 'istio-injection': 'enabled' }))).toEqual(['SB1402 Namespace b']);
  });

  it('says that istio-injection wins over the revision', () => {
    expect(messages(namespace('a', { 'istio-injection': 'enabled', 'istio.io/rev': 'canary' }), 'SB1402'))
      .toEqual([expect.stringMatching(/istio-injection=enabled wins.*istio\.io\/rev=canary is ignored/)]);
  });
});

describe('annotations (SB1403–SB1406)', () => {
  it('judges a pod template\'s annotations as a pod\'s, and the workload\'s own as the workload\'s', () => {
    const yaml = namespace('shop', { 'istio-injection': 'enabled' }) + `
apiVersion: apps/v1
kind: CronJob
metadata: { name: report, namespace: shop, annotations: { sidecar.istio.io/nativeSidecar: "true" } }
spec:
  schedule: "0 * * * *"
  jobTemplate:
    spec:
      template:
        metadata: { annotations: { sidecar.istio.io/nativeSidecar: "true" } }
        spec: { restartPolicy: Never, containers: [{ name: report, image: "report:1" }] }
---`;
    expect(messages(yaml, 'SB1403')).toEqual([
      'metadata.annotations["sidecar.istio.io/nativeSidecar"] is on a CronJob, ' +
      'but Istio reads sidecar.istio.io/nativeSidecar only on a Pod, so it has no effect here; ' +
      'move it to spec.jobTemplate.spec.template.metadata.annotations, the annotations of the pods',
    ]);
  });

  it('ignores the annotations istiod and its controllers set, and other domains', () => {
    const yaml = `
apiVersion: v1
kind: Service
metadata:
  name: api
  namespace: shop
  annotations: { sidecar.istio.io/status: "{}", istio.io/rev: default, gateway.istio.io/controller-version: "5", example.com/owner: istio.io }
spec: { ports: [{ name: http, port: 80 }] }
---`;
    expect(run(yaml)).toEqual([]);
  });

  it('leaves out the Kubernetes system namespaces, as istioctl analyze does', () => {
    expect(run(deployment('dns', 'kube-system', { annotations: { 'sidecar.istio.io/proxyCpu': '1' }, spec: autoProxy }))).toEqual([]);
  });

  it('suggests the annotation meant, and judges any prefix ending in istio.io as Istio\'s', () => {
    const yaml = deployment('api', 'shop', { annotations: { 'traffic.sidecar.istio.io/excludeOutboundPort': '5432', 'foo.istio.io/bar': 'x' } });
    expect(messages(yaml, 'SB1404')).toEqual([
      expect.stringMatching(/"foo\.istio\.io\/bar"\] is not an annotation Istio knows: /),
      expect.stringContaining('"traffic.sidecar.istio.io/excludeOutboundPort"] is not an annotation Istio knows ' +
        '(did you mean traffic.sidecar.istio.io/excludeOutboundPorts?)'),
    ]);
  });

  it('gives the injector\'s own message for a value it refuses, as switchboard inject does', () => {
    const yaml = deployment('api', 'shop', { annotations: { 'readiness.status.sidecar.istio.io/initialDelaySeconds': 'bar' } });
    const [message] = messages(yaml, 'SB1405');
    const injected = injectManifests(yaml, defaultInjectorConfig());
    expect(injected.errors).toHaveLength(1);
    const injectorMessage = (injected.errors[0] ?? '').replace(/^Deployment\/api: /, '');
    expect(message).toBe(`${injectorMessage}; the injector refuses to inject the pod until it is fixed`);
  });

  it('judges values only where the annotation belongs', () => {
    const yaml = `
apiVersion: v1
kind: Service
metadata: { name: api, namespace: shop, annotations: { sidecar.istio.io/proxyCPU: lots } }
spec: { ports: [{ name: http, port: 80 }] }
---`;
    expect(run(yaml)).toEqual(['SB1403 Service shop/api']);
  });

  it('leaves the deprecated inject annotation on pods to SB0602, and skips it next to the label', () => {
    const pod = `
apiVersion: v1
kind: Pod
metadata: { name: debug, namespace: shop, annotations: { sidecar.istio.io/inject: "false" } }
spec: { containers: [{ name: curl, image: curl }] }
---`;
    const found = analyze(objectsOf(pod)).map((item) => item.code);
    expect(found).toContain('SB0602');
    expect(found).not.toContain('SB1406');
    const labelled = `
apiVersion: v1
kind: Service
metadata: { name: api, namespace: shop, labels: { sidecar.istio.io/inject: "false" }, annotations: { sidecar.istio.io/inject: "false" } }
spec: { ports: [{ name: http, port: 80 }] }
---`;
    expect(run(labelled)).toEqual(['SB1403 Service shop/api']);
  });

  it('names the successor of a deprecated annotation', () => {
    const yaml = deployment('vm', 'shop', { annotations: { 'traffic.sidecar.istio.io/kubevirtInterfaces': 'k6t-eth0' } });
    expect(messages(yaml, 'SB1406')).toEqual([expect.stringMatching(/use the annotation istio\.io\/reroute-virtual-interfaces instead$/)]);
  });

  it('judges a pod made by a controller in the input once, through the controller', () => {
    const yaml = deployment('api', 'shop', { annotations: { 'sidecar.istio.io/interceptionMode': 'DNAT' } }) + `
apiVersion: v1
kind: Pod
metadata:
  name: api-1
  namespace: shop
  ownerReferences: [{ kind: Deployment, name: api, controller: true }]
  annotations: { sidecar.istio.io/interceptionMode: DNAT }
spec: { containers: [{ name: app, image: "app:1" }] }
---`;
    expect(run(yaml)).toEqual(['SB1405 Deployment shop/api']);
  });
});

describe('SB1407 and SB1409: image: auto without injection', () => {
  it('judges only where the namespace is in the input, or the pod itself opts out', () => {
    expect(run(deployment('gw', 'unknown', { spec: autoProxy }))).toEqual([]);
    expect(run(deployment('gw', 'unknown', { labels: { 'sidecar.istio.io/inject': 'false' }, spec: autoProxy }))).toEqual(['SB1407 Deployment unknown/gw']);
    expect(run(namespace('off', { 'istio-injection': 'disabled' }) + deployment('gw', 'off', { spec: autoProxy }))).toEqual(['SB1407 Deployment off/gw']);
  });

  it('follows the webhooks\' selectors: the pod\'s own revision or inject=true label in a namespace without labels', () => {
    const yaml = namespace('apps') +
      deployment('by-rev', 'apps', { labels: { 'istio.io/rev': 'canary' }, spec: autoProxy }) +
      deployment('by-label', 'apps', { labels: { 'sidecar.istio.io/inject': 'true' }, spec: autoProxy }) +
      deployment('neither', 'apps', { spec: autoProxy });
    expect(run(yaml).filter((line) => line.startsWith('SB1407'))).toEqual(['SB1407 Deployment apps/neither']);
  });

  it('counts hostNetwork and the opt-out annotation as not injected, as the injector decides', () => {
    const yaml = namespace('shop', { 'istio-injection': 'enabled' }) +
      deployment('host', 'shop', { spec: '{ hostNetwork: true, containers: [{ name: istio-proxy, image: auto }] }' }) +
      deployment('annotated', 'shop', { annotations: { 'sidecar.istio.io/inject': 'false' }, spec: autoProxy });
    expect(run(yaml).filter((line) => line.startsWith('SB1407'))).toEqual(['SB1407 Deployment shop/annotated', 'SB1407 Deployment shop/host']);
    expect(messages(yaml, 'SB1407')[1]).toContain('hostNetwork pods are never injected');
  });

  it('reports a Pod in a manifest as SB1407, and a Pod that exists as SB1409 whatever its namespace', () => {
    const pod = (extra: string) => `
apiVersion: v1
kind: Pod
metadata: { name: gw, namespace: shop${extra} }
spec: { containers: [{ name: istio-proxy, image: auto }] }
---`;
    const off = namespace('shop', { 'istio-injection': 'disabled' });
    expect(run(off + pod(''))).toEqual(['SB1407 Pod shop/gw']);
    expect(run(pod(', creationTimestamp: "2025-01-01T00:00:00Z"'), true)).toEqual(['SB1409 Pod shop/gw']);
    expect(run(namespace('shop', { 'istio-injection': 'enabled' }) + pod(', uid: abc'), true)).toEqual(['SB1409 Pod shop/gw']);
  });
});

describe('SB1408 InjectorRefusesPod', () => {
  const refused = { 'inject.istio.io/templates': 'sidecar,spire' };

  it('reports refusals where the pod may be injected, not where it never is', () => {
    expect(run(deployment('a', 'elsewhere', { annotations: refused }))).toEqual(['SB1408 Deployment elsewhere/a']);
    expect(run(namespace('off', { 'istio-injection': 'disabled' }) + deployment('a', 'off', { annotations: refused }))).toEqual([]);
    expect(run(namespace('on', { 'istio-injection': 'enabled' }) + deployment('a', 'on', { annotations: refused }))).toEqual(['SB1408 Deployment on/a']);
  });

  it('gives the injector\'s message and its refusal code', () => {
    expect(messages(deployment('a', 'shop', { annotations: refused }), 'SB1408')).toEqual([
      expect.stringMatching(
        /^spec\.template\.metadata\.annotations\["inject\.istio\.io\/templates"\]: annotation \S+ is "sidecar,spire": there is no template "spire"; .*\(UnknownInjectionTemplate\)/),
    ]);
  });

  it('leaves UID 1337 to SB0601, and an istio-proxy image to the injector config it depends on', () => {
    const yaml = deployment('a', 'shop', {
      spec: '{ containers: [{ name: app, image: "app:1", securityContext: { runAsUser: 1337 } }, { name: istio-proxy, image: "example.com/proxy:1" }] }',
    });
    const codes = analyze(objectsOf(yaml)).map((item) => item.code);
    expect(codes).toContain('SB0601');
    expect(codes).not.toContain('SB1408');
  });
});
