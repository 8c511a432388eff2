// Istio's validation warnings (SB0308-SB0313). The rule is called directly, so that these tests hold
// whether or not analyze.ts registers it; the negative fixture is also run through every registered rule.
import { describe, expect, it } from 'vitest';
import type { Finding } from '../../../src/analyze/finding.ts';
import { parseManifests } from '../../../src/analyze/manifests.ts';
import { objectSet, type MeshObject } from '../../../src/analyze/objects.ts';
import { DEFAULT_MESH_ROOT_NAMESPACE } from '../../../src/analyze/rule.ts';
import { schemaWarningRule } from '../../../src/analyze/rules/schema-warnings.ts';
import { analyze, blocking, brief, readObjects, schemas } from './fixtures.ts';

const positive = 'test/fixtures/analyze/schema-warnings.positive.yaml';
const negative = 'test/fixtures/analyze/schema-warnings.negative.yaml';
/** SB0312 is about every EnvoyFilter, so the negative fixture has it too (at info). */
const judged = ['SB0308', 'SB0309', 'SB0310', 'SB0311', 'SB0313'];

const check = (objects: MeshObject[]): Finding[] => schemaWarningRule.check(objectSet(objects), { schemas, meshRootNamespace: DEFAULT_MESH_ROOT_NAMESPACE });

function objectsOf(yaml: string): MeshObject[] {
  const parsed = parseManifests(yaml, 'inline.yaml', 'default');
  if (parsed.findings.length > 0) throw new Error(parsed.findings.map((item) => item.message).join('; '));
  return parsed.objects.map((loaded) => loaded.object);
}

const inline = (yaml: string) => check(objectsOf(yaml));
const codesOf = (yaml: string) => inline(yaml).filter((item) => item.code !== 'SB0312').map((item) => item.code);
const messagesOf = (yaml: string) => inline(yaml).filter((item) => item.code !== 'SB0312').map((item) => item.message);

/** Every registered rule, plus this one if analyze.ts does not run it yet: each finding once. */
function everything(objects: MeshObject[]): Finding[] {
  const registered = analyze(objects);
  return [...registered, ...check(objects).filter((item) => !registered.some((other) => other.code === item.code && other.message === item.message))];
}

const object = (kind: string, spec: string, { namespace = 'shop', apiVersion = 'networking.istio.io/v1' } = {}) => `
apiVersion: ${apiVersion}
kind: ${kind}
metadata: { name: x, namespace: ${namespace} }
spec:
${spec.replace(/^\n/, '').split('\n').map((line) => `  ${line}`).join('\n')}
---`;

describe('schema warnings (SB0308-SB0313)', () => {
  it('reports exactly the listed findings on schema-warnings.positive.yaml', () => {
    expect(check(readObjects(positive)).map(brief)).toEqual([
      'SB0311 Gateway shop/edge',
      'SB0310 Gateway shop/edge',
      'SB0313 Gateway shop/edge',
      'SB0310 Gateway shop/edge',
      'SB0310 Gateway shop/edge',
      'SB0311 Gateway shop/edge',
      'SB0308 Sidecar shop/catalog',
      'SB0310 Sidecar shop/catalog',
      'SB0313 Sidecar shop/catalog',
      'SB0313 Sidecar shop/catalog',
      'SB0311 ServiceEntry shop/payments',
      'SB0310 ServiceEntry shop/vms',
      'SB0311 ServiceEntry shop/databases',
      'SB0311 ServiceEntry shop/remote',
      'SB0310 DestinationRule shop/reviews',
      'SB0309 DestinationRule shop/reviews',
      'SB0308 DestinationRule shop/ratings',
      'SB0311 DestinationRule shop/ratings',
      'SB0309 VirtualService shop/storefront',
      'SB0309 VirtualService shop/storefront',
      'SB0310 VirtualService shop/storefront',
      'SB0311 VirtualService shop/ledger-tls',
      'SB0308 EnvoyFilter shop/hcm-tweaks',
      'SB0312 EnvoyFilter shop/hcm-tweaks',
      'SB0310 EnvoyFilter shop/hcm-tweaks',
      'SB0310 EnvoyFilter shop/hcm-tweaks',
      'SB0311 AuthorizationPolicy shop/deny-admin',
      'SB0311 RequestAuthentication shop/tokens',
      'SB0308 PeerAuthentication shop/strict',
    ]);
  });

  it('reports none of them (SB0312 aside), and no error or warning from any rule, on schema-warnings.negative.yaml', () => {
    const found = everything(readObjects(negative));
    expect(blocking(found, judged)).toEqual([]);
    expect(found.filter((item) => item.code === 'SB0312').map(brief)).toEqual(['SB0312 EnvoyFilter shop/hcm-tweaks']);
  });

  it('gives each code its severity: info where the setting works as written', () => {
    expect(Object.fromEntries(schemaWarningRule.definitions.map((rule) => [rule.code, `${rule.name} ${rule.severity}`]))).toEqual({
      SB0308: 'WorkloadSelectorWithoutLabels info',
      SB0309: 'DeprecatedSetting info',
      SB0310: 'IgnoredSetting warning',
      SB0311: 'SchemaWarning warning',
      SB0312: 'EnvoyFilterExposesInternals info',
      SB0313: 'RedundantSetting info',
    });
  });

  it('names the field path and the fix', () => {
    const messages = check(readObjects(positive)).map((item) => item.message);
    expect(messages).toEqual(expect.arrayContaining([
      expect.stringMatching(/^spec\.servers\[0\]\.tls\.minProtocolVersion TLSV1_1 without cipherSuites: .*list in cipherSuites/),
      expect.stringMatching(/^spec\.servers\[1\]\.tls\.cipherSuites TLS_AES_128_GCM_SHA256: .*istiod drops them/),
      expect.stringMatching(/^spec\.egress\[0\]\.hosts\[1\] shop\/reviews\.shop\.svc\.cluster\.local repeats a host .*\(shop\/\*\)/),
      expect.stringMatching(/^spec\.gateways\[0\] edge\.shop is the legacy .*write shop\/edge$/),
      expect.stringMatching(/^spec\.http\[0\]\.match\[0\]\.gateways\[0\] edge\.shop\.svc\.cluster\.local .*write shop\/edge$/),
      expect.stringMatching(/^spec\.rules\[0\] of this DENY policy .*Service shop\/db port 5432 \(TCP\); add to\.operation\.ports/),
      expect.stringMatching(/^spec\.jwtRules\[0\]\.jwks key 0 \(kty RSA\) holds private key material/),
      expect.stringMatching(/^spec\.configPatches\[0\]\.match\.listener\.filterChain\.filter\.name envoy\.http_connection_manager .*envoy\.filters\.network\.http_connection_manager/),
    ]));
  });

  describe('selectors without labels (SB0308)', () => {
    it('says a root-namespace policy then covers the mesh, and leaves selectors with labels and absent selectors alone', () => {
      expect(messagesOf(object('AuthorizationPolicy', 'selector: {}\naction: ALLOW\nrules: [{}]', { namespace: 'istio-system', apiVersion: 'security.istio.io/v1' })))
        .toEqual([expect.stringMatching(/every workload of the mesh \(istio-system is Istio's root namespace\)/)]);
      expect(codesOf(object('RequestAuthentication', 'selector: { matchLabels: {} }\njwtRules: [{ issuer: a }]', { apiVersion: 'security.istio.io/v1' }))).toEqual(['SB0308']);
      expect(codesOf(object('RequestAuthentication', 'jwtRules: [{ issuer: a }]', { apiVersion: 'security.istio.io/v1' }))).toEqual([]);
      expect(messagesOf(object('ServiceEntry', 'hosts: [a.shop.internal]\nresolution: STATIC\nworkloadSelector: {}\nports: [{ number: 80, name: http, protocol: HTTP }]')))
        .toEqual([expect.stringMatching(/makes every workload in namespace shop an endpoint of its hosts/)]);
    });
  });

  describe('TLS settings of servers', () => {
    it('judges Sidecar ingress TLS like a Gateway server\'s, and checks suites before the mode', () => {
      expect(codesOf(object('Sidecar', `
workloadSelector: { labels: { app: a } }
ingress:
  - port: { number: 8443, protocol: HTTPS, name: https }
    defaultEndpoint: 127.0.0.1:8080
    tls: { mode: SIMPLE, serverCertificate: /c.pem, privateKey: /k.pem, minProtocolVersion: TLSV1_0 }`))).toEqual(['SB0311']);
      expect(codesOf(object('Gateway', `
servers:
  - port: { number: 443, name: https, protocol: HTTPS }
    hosts: [a.example.com]
    tls: { mode: ISTIO_MUTUAL, cipherSuites: [AES128-SHA, AES128-SHA], httpsRedirect: false }`))).toEqual(['SB0313']);
    });

    it('reads a server without mode as PASSTHROUGH, the mode\'s default, which uses no certificate', () => {
      expect(messagesOf(object('Gateway', `
servers: [{ port: { number: 443, name: https, protocol: HTTPS }, hosts: [a.example.com], tls: { credentialName: a-cert } }]`)))
        .toEqual([expect.stringMatching(/^spec\.servers\[0\]\.tls sets credentialName with mode PASSTHROUGH \(the default: mode is not set\)/)]);
    });

    it('takes the protocol names case-insensitively, and judges only Istio\'s Gateway', () => {
      const server = (protocol: string) => object('Gateway', `
servers: [{ port: { number: 80, name: web, protocol: ${protocol} }, hosts: [a.example.com], tls: { httpsRedirect: true } }]`);
      expect(codesOf(server('http'))).toEqual([]);
      expect(codesOf(server('HTTP2'))).toEqual([]);
      expect(codesOf(server('TCP'))).toEqual(['SB0310']);
      expect(codesOf(object('Gateway', 'gatewayClassName: istio\nlisteners: [{ name: a, port: 80, protocol: HTTP }]', { apiVersion: 'gateway.networking.k8s.io/v1' }))).toEqual([]);
    });
  });

  describe('Sidecar egress hosts', () => {
    const egress = (hosts: string) => codesOf(object('Sidecar', `egress: [{ hosts: ${hosts} }]`));

    it.each([
      ['["catalog/a.example.com", "catalog/a.example.com"]', ['SB0313']],
      ['["catalog/a.example.com", "catalog/*"]', ['SB0313']],
      ['["catalog/*", "catalog/a.example.com"]', ['SB0313']],
      ['["./*", "shop/*"]', ['SB0313']],
      ['["catalog/a.example.com", "orders/a.example.com"]', []],
      ['["~/*", "~/*"]', []],
      ['["*/*"]', []],
      ['["*/*", "catalog/*"]', ['SB0313']],
    ])('%s: %j', (hosts, expected) => {
      expect(egress(hosts)).toEqual(expected);
    });
  });

  describe('DestinationRule levels', () => {
    it('reports deprecated fields in subsets and port-level settings too, where Istio\'s validation drops the warning', () => {
      const found = inline(object('DestinationRule', `
host: a.shop.svc.cluster.local
trafficPolicy:
  portLevelSettings: [{ port: { number: 80 }, outlierDetection: { consecutiveErrors: 3 } }]
subsets:
  - name: v1
    trafficPolicy: { portLevelSettings: [{ port: { number: 80 }, loadBalancer: { consistentHash: { useSourceIp: true, minimumRingSize: 64 } } }] }`));
      expect(found.map((item) => `${item.code} ${item.message.split(' ')[0]}`)).toEqual([
        'SB0310 spec.trafficPolicy.portLevelSettings[0].outlierDetection.consecutiveErrors',
        'SB0309 spec.subsets[0].trafficPolicy.portLevelSettings[0].loadBalancer.consistentHash.minimumRingSize',
      ]);
    });

    it('lets failover use the outlier detection of the level it inherits from', () => {
      const failover = 'loadBalancer: { localityLbSetting: { failoverPriority: [topology.kubernetes.io/region] } }';
      const rule = (top: string, subset: string) => codesOf(object('DestinationRule', `
host: a.shop.svc.cluster.local
trafficPolicy: { ${top} }
subsets: [{ name: v1, trafficPolicy: { ${subset} } }]`));
      expect(rule('outlierDetection: { consecutive5xxErrors: 3 }', failover)).toEqual([]);
      expect(rule('connectionPool: { tcp: { maxConnections: 10 } }', failover)).toEqual(['SB0311']);
      expect(rule(`${failover}, outlierDetection: { consecutive5xxErrors: 3 }`, 'connectionPool: { tcp: { maxConnections: 10 } }')).toEqual([]);
      expect(rule(`portLevelSettings: [{ port: { number: 80 }, ${failover} }]`, 'connectionPool: { tcp: { maxConnections: 10 } }')).toEqual(['SB0311']);
    });
  });

  describe('VirtualService', () => {
    const route = (http: string) => object('VirtualService', `hosts: [a.example.com]\nhttp:\n  - ${http}`);

    it('measures a direct response body in bytes, and leaves bodies over 1 MiB to Istio\'s error', () => {
      const body = (size: number) => route(`directResponse: { status: 200, body: { string: "${'x'.repeat(size)}" } }`);
      expect(codesOf(body(100 * 1024))).toEqual([]);
      expect(messagesOf(body(150 * 1024))).toEqual([expect.stringMatching(/^spec\.http\[0\]\.directResponse\.body is 150 KiB/)]);
      expect(codesOf(body(1024 * 1024 + 1))).toEqual([]);
      const bytes = Buffer.alloc(200 * 1024).toString('base64');
      expect(codesOf(route(`directResponse: { status: 200, body: { bytes: "${bytes}" } }`))).toEqual(['SB0311']);
    });

    it('takes an abort with a gRPC status, and reads legacy gateway names in tls and tcp matches too', () => {
      expect(codesOf(route('fault: { abort: { grpcStatus: UNAVAILABLE } }\n    route: [{ destination: { host: a } }]'))).toEqual([]);
      expect(codesOf(object('VirtualService', `
hosts: [a.example.com]
gateways: [mesh, edge]
tcp: [{ match: [{ port: 5432, gateways: [edge.shop] }], route: [{ destination: { host: a } }] }]`))).toEqual(['SB0309']);
    });

    it('takes IPv6 literals as IP addresses in sniHosts', () => {
      expect(codesOf(object('VirtualService', `
hosts: [a.example.com]
tls: [{ match: [{ sniHosts: ["::1", a.example.com] }], route: [{ destination: { host: a.example.com } }] }]`))).toEqual(['SB0311']);
    });
  });

  describe('DENY rules with HTTP attributes only', () => {
    const tcpService = (namespace = 'shop', selector = 'app: db') => `
apiVersion: v1
kind: Service
metadata: { name: db, namespace: ${namespace} }
spec: { selector: { ${selector} }, ports: [{ name: tcp, port: 5432 }, { name: http, port: 8080 }] }
---`;
    const policy = (spec: string, namespace = 'shop') => object('AuthorizationPolicy', spec, { namespace, apiVersion: 'security.istio.io/v1' });

    it.each([
      ['a from with request principals only', 'action: DENY\nrules: [{ from: [{ source: { requestPrincipals: ["*"] } }] }]', ['SB0311']],
      ['a from with principals (a TCP attribute)', 'action: DENY\nrules: [{ from: [{ source: { principals: ["*"] } }] }]', []],
      ['a TCP from with an HTTP to', 'action: DENY\nrules: [{ from: [{ source: { namespaces: [x] } }], to: [{ operation: { methods: [GET] } }] }]', ['SB0311']],
      ['a to with notPorts', 'action: DENY\nrules: [{ to: [{ operation: { methods: [GET], notPorts: ["8080"] } }] }]', []],
      ['conditions only', 'action: DENY\nrules: [{ when: [{ key: "request.headers[x]", values: [a] }] }]', []],
      ['an ALLOW policy', 'action: ALLOW\nrules: [{ to: [{ operation: { methods: [GET] } }] }]', []],
      ['a policy attached by targetRefs', 'action: DENY\ntargetRefs: [{ kind: Service, group: "", name: db }]\nrules: [{ to: [{ operation: { methods: [GET] } }] }]', []],
    ])('%s', (_, spec, expected) => {
      expect(codesOf(tcpService() + policy(spec))).toEqual(expected);
    });

    it('needs a plain TCP Service port among the workloads in scope', () => {
      const deny = 'action: DENY\nrules: [{ to: [{ operation: { paths: [/admin] } }] }]';
      expect(codesOf(policy(deny))).toEqual([]);
      expect(codesOf(tcpService('orders') + policy(deny))).toEqual([]);
      // A root-namespace policy without a selector covers every namespace.
      expect(codesOf(tcpService('orders') + policy(deny, 'istio-system'))).toEqual(['SB0311']);
      const deployment = (app: string) => `
apiVersion: apps/v1
kind: Deployment
metadata: { name: ${app}, namespace: shop }
spec:
  selector: { matchLabels: { app: ${app} } }
  template: { metadata: { labels: { app: ${app} } }, spec: { containers: [{ name: app, image: registry.example.com/${app}:1.0.0 }] } }
---`;
      const selected = `selector: { matchLabels: { app: web } }\n${deny}`;
      expect(codesOf(tcpService() + deployment('db') + deployment('web') + policy(selected))).toEqual([]);
      expect(codesOf(tcpService('shop', 'app: web') + deployment('web') + policy(selected))).toEqual(['SB0311']);
    });
  });

  describe('inline JWKS', () => {
    const jwks = (value: string) => codesOf(object('RequestAuthentication', `jwtRules: [{ issuer: a, jwks: '${value}' }]`, { apiVersion: 'security.istio.io/v1' }));

    it.each([
      ['a symmetric key', '{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}', ['SB0311']],
      ['a single private key, not in a set', '{"kty":"OKP","crv":"Ed25519","x":"a","d":"b"}', ['SB0311']],
      ['public keys', '{"keys":[{"kty":"RSA","n":"a","e":"AQAB"},{"kty":"OKP","crv":"Ed25519","x":"a"}]}', []],
      ['text that does not parse (Istio\'s error, not a warning)', '{"keys":', []],
    ])('%s', (_, value, expected) => {
      expect(jwks(value)).toEqual(expected);
    });
  });

  describe('EnvoyFilter', () => {
    const patch = (match: string, applyTo = 'HTTP_FILTER') => object('EnvoyFilter', `
configPatches:
  - applyTo: ${applyTo}
    match: ${match}
    patch: { operation: INSERT_BEFORE, value: { name: envoy.filters.http.lua } }`);

    it('reports every EnvoyFilter once at info, and a proxyVersion istiod ignores', () => {
      const found = inline(patch(`{ context: SIDECAR_INBOUND, proxy: { proxyVersion: "${'1'.repeat(1025)}" } }`));
      expect(found.map((item) => `${item.code} ${item.severity}`)).toEqual(['SB0312 info', 'SB0310 warning']);
    });

    it('skips waypoint patches and those istiod refuses, as its validation does', () => {
      const deprecated = '{ filterChain: { filter: { name: envoy.http_connection_manager, subFilter: { name: envoy.router } } } }';
      expect(codesOf(patch(`{ context: SIDECAR_INBOUND, listener: ${deprecated} }`))).toEqual(['SB0310', 'SB0310']);
      expect(codesOf(patch(`{ context: WAYPOINT, listener: ${deprecated} }`))).toEqual([]);
      expect(codesOf(patch(`{ context: SIDECAR_INBOUND, listener: ${deprecated} }`, 'INVALID'))).toEqual([]);
      expect(codesOf(patch(`{ context: SIDECAR_INBOUND, listener: ${deprecated} }`, 'CLUSTER'))).toEqual([]);
    });
  });
});
