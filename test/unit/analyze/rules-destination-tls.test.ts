// DestinationRule TLS and hosts (SB12): fixtures, then the edge cases of host resolution and of
// what the input can tell.
import { describe, expect, it } from 'vitest';
import { parseManifests } from '../../../src/analyze/manifests.ts';
import { analyze, analyzeFiles, blocking, brief } from './fixtures.ts';

const codes = ['SB1201', 'SB1202', 'SB1203'];
const positive = 'test/fixtures/analyze/destination-tls.positive.yaml';
const negative = 'test/fixtures/analyze/destination-tls.negative.yaml';

function run(yaml: string) {
  const parsed = parseManifests(yaml, 'inline.yaml', 'default');
  return analyze(parsed.objects.map((loaded) => loaded.object)).filter((item) => codes.includes(item.code));
}

const reported = (yaml: string) => run(yaml).map(brief);
const unknownHost = (namespace: string) => [`SB1203 DestinationRule ${namespace}/rule`];

const service = (name: string, namespace: string, annotations = '') => `
apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: ${namespace}${annotations === '' ? '' : `, annotations: ${annotations}`} }
spec: { selector: { app: ${name} }, ports: [{ name: http, port: 80 }] }
---`;

const serviceEntry = (name: string, namespace: string, hosts: string, exportTo = '') => `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ${name}, namespace: ${namespace} }
spec:
  hosts: ${hosts}
  ${exportTo === '' ? '' : `exportTo: ${exportTo}`}
  location: MESH_EXTERNAL
  resolution: DNS
  ports: [{ number: 443, name: https, protocol: HTTPS }]
---`;

const destinationRule = (namespace: string, host: string, extra = '') => `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: rule, namespace: ${namespace} }
spec:
  host: "${host}"
  ${extra}
---`;

describe('DestinationRule rules (SB12)', () => {
  it('reports SB1201, SB1202 and SB1203 on destination-tls.positive.yaml', () => {
    expect(analyzeFiles(positive).filter((item) => codes.includes(item.code)).map(brief)).toEqual([
      'SB1202 DestinationRule shop/inventory',
      'SB1201 DestinationRule shop/ledger',
      'SB1201 DestinationRule shop/payments-api',
      'SB1202 DestinationRule shop/payments-api',
      'SB1203 DestinationRule shop/pricing',
      'SB1203 DestinationRule shop/ratings',
      'SB1203 DestinationRule shop/reviews',
      'SB1203 DestinationRule shop/stripe',
    ]);
  });

  it('reports none of them, and no error or warning, on destination-tls.negative.yaml', () => {
    expect(blocking(analyzeFiles(negative), codes)).toEqual([]);
  });

  it('names the field path, the port and the fix', () => {
    const messages = analyzeFiles(positive).filter((item) => item.code === 'SB1201' || item.code === 'SB1202').map((item) => item.message);
    expect(messages).toEqual([
      expect.stringMatching(/^spec\.subsets\[0\]\.trafficPolicy\.portLevelSettings\[0\]\.tls sets mode SIMPLE for host inventory\.shop\.svc\.cluster\.local port 443 /),
      expect.stringMatching(/^spec\.trafficPolicy\.tls sets mode SIMPLE with insecureSkipVerify: true for host ledger: .*remove insecureSkipVerify/),
      expect.stringMatching(/^spec\.trafficPolicy\.tls sets mode SIMPLE for host api\.payments\.example\.com without caCertificates: (?!.*sni set)/),
      expect.stringMatching(/^spec\.trafficPolicy\.portLevelSettings\[0\]\.tls sets mode MUTUAL for host api\.payments\.example\.com port 8443 without/),
    ]);
    expect(messages[0]).toMatch(/with sni set and no subjectAltNames, does not check the name/);
    expect(messages[2]).toMatch(/set caCertificates to the server's CA bundle/);
  });

  it('says why the host matches nothing: exportTo, a short name of another namespace, or no such service', () => {
    const messages = analyzeFiles(positive).filter((item) => item.code === 'SB1203').map((item) => item.message);
    expect(messages).toEqual([
      expect.stringMatching(/Service catalog\/pricing defines it, but its exportTo hides it/),
      expect.stringMatching(/^spec\.host ratings \(ratings\.shop\.svc\.cluster\.local\) .*fully qualified host \(ratings\.catalog\.svc\.cluster\.local\)/),
      expect.stringMatching(/^spec\.host reveiws \(reveiws\.shop\.svc\.cluster\.local\) matches no service: no Service of namespace shop/),
      expect.stringMatching(/^spec\.host api\.stripe\.com matches no service: no ServiceEntry visible to namespace shop/),
    ]);
  });

  describe('SB1201 and SB1202', () => {
    it('leaves a credentialName alone, with or without a workloadSelector (gateways read the CA from the secret)', () => {
      expect(run(destinationRule('istio-system', 'partner.example.com', 'trafficPolicy: { tls: { mode: SIMPLE, credentialName: partner } }'))).toEqual([]);
    });

    it('reports insecureSkipVerify at port level too, even with caCertificates', () => {
      const tls = 'tls: { mode: MUTUAL, clientCertificate: /c.pem, privateKey: /k.pem, caCertificates: /ca.pem, insecureSkipVerify: true }';
      expect(run(destinationRule('shop', 'a.example.com', `trafficPolicy: { portLevelSettings: [{ port: { number: 443 }, ${tls} }] }`)).map(brief))
        .toEqual(['SB1202 DestinationRule shop/rule']);
    });

    it('says the name is checked when subjectAltNames are given with sni', () => {
      const tls = '{ mode: SIMPLE, sni: a.example.com, subjectAltNames: [a.example.com] }';
      const [found] = run(destinationRule('shop', 'a.example.com', `trafficPolicy: { tls: ${tls} }`));
      expect(found?.code).toBe('SB1201');
      expect(found?.message).not.toMatch(/does not check the name/);
    });
  });

  describe('SB1203', () => {
    it('judges nothing when the input holds no Service of the host\'s namespace', () => {
      expect(run(destinationRule('shop', 'reviews'))).toEqual([]);
      expect(run(service('reviews', 'shop') + destinationRule('shop', 'ratings.catalog.svc.cluster.local'))).toEqual([]);
    });

    it('judges an external host only with a ServiceEntry in the rule\'s namespace', () => {
      expect(run(service('reviews', 'shop') + destinationRule('shop', 'api.example.com'))).toEqual([]);
      expect(run(serviceEntry('other', 'catalog', '[api.example.com]') + destinationRule('shop', 'api.example.com'))).toEqual([]);
      expect(reported(serviceEntry('other', 'shop', '[other.example.com]') + destinationRule('shop', 'api.example.com'))).toEqual(unknownHost('shop'));
    });

    it('matches wildcards on either side', () => {
      expect(run(serviceEntry('se', 'shop', '["*.example.com"]') + destinationRule('shop', 'api.eu.example.com'))).toEqual([]);
      expect(run(serviceEntry('se', 'shop', '[api.example.com]') + destinationRule('shop', '*.example.com'))).toEqual([]);
      expect(run(serviceEntry('se', 'shop', '["*.example.com"]') + destinationRule('shop', '*.eu.example.com'))).toEqual([]);
      expect(reported(serviceEntry('se', 'shop', '["*.example.com"]') + destinationRule('shop', '*.example.net'))).toEqual(unknownHost('shop'));
      expect(run(service('reviews', 'shop') + destinationRule('shop', '*.shop.svc.cluster.local'))).toEqual([]);
      expect(run(service('reviews', 'shop') + destinationRule('shop', '*.other.svc.cluster.local'))).toEqual([]);
    });

    it('never judges a wildcard that spans namespaces', () => {
      for (const host of ['*', '*.local', '*.cluster.local', '*.svc.cluster.local']) {
        expect(run(serviceEntry('se', 'shop', '[a.example.com]') + destinationRule('shop', host))).toEqual([]);
      }
    });

    it('resolves short and fully qualified names, and leaves name.namespace as written, as istiod does', () => {
      for (const host of ['reviews', 'reviews.shop.svc.cluster.local']) {
        expect(run(service('reviews', 'shop') + destinationRule('shop', host))).toEqual([]);
      }
      for (const host of ['reviews.shop', 'reviews.shop.svc']) {
        expect(reported(service('reviews', 'shop') + destinationRule('shop', host))).toEqual(unknownHost('shop'));
      }
      expect(run(service('reviews', 'shop') + destinationRule('catalog', 'reviews.shop.svc.cluster.local'))).toEqual([]);
      expect(run(service('reviews', 'shop') + destinationRule('catalog', 'reviews')).map(brief)).toEqual([]);
      expect(reported(service('reviews', 'shop') + service('ratings', 'catalog') + destinationRule('catalog', 'reviews'))).toEqual(unknownHost('catalog'));
    });

    it('takes a ServiceEntry that declares a cluster-local host', () => {
      expect(run(service('reviews', 'shop') + serviceEntry('vm', 'shop', '[legacy.shop.svc.cluster.local]') + destinationRule('shop', 'legacy'))).toEqual([]);
    });

    it('follows exportTo of Services and ServiceEntries, and of the rule', () => {
      const hidden = service('ratings', 'catalog', '{ networking.istio.io/exportTo: "." }');
      expect(reported(hidden + destinationRule('shop', 'ratings.catalog.svc.cluster.local', 'exportTo: ["."]'))).toEqual(unknownHost('shop'));
      // Exported everywhere, the rule applies in catalog, which sees the Service.
      expect(run(hidden + destinationRule('shop', 'ratings.catalog.svc.cluster.local'))).toEqual([]);
      expect(run(hidden + destinationRule('shop', 'ratings.catalog.svc.cluster.local', 'exportTo: [".", catalog]'))).toEqual([]);
      const none = service('ratings', 'catalog', '{ networking.istio.io/exportTo: "~" }');
      expect(reported(none + destinationRule('catalog', 'ratings'))).toEqual(unknownHost('catalog'));
      const entry = serviceEntry('se', 'shop', '[api.example.com]', '[orders]');
      expect(reported(entry + destinationRule('shop', 'api.example.com', 'exportTo: ["."]'))).toEqual(unknownHost('shop'));
      expect(run(entry + destinationRule('shop', 'api.example.com'))).toEqual([]);
    });

    it('knows the Service Istio creates for a Gateway API Gateway', () => {
      const gateway = `
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: ingress, namespace: shop }
spec:
  gatewayClassName: istio
  listeners: [{ name: http, port: 80, protocol: HTTP }]
---`;
      expect(run(service('reviews', 'shop') + gateway + destinationRule('shop', 'ingress-istio'))).toEqual([]);
    });
  });
});
