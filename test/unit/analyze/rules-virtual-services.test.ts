// VirtualServices (SB10xx) on their fixtures, then the edge cases one at a time.
import { describe, expect, it } from 'vitest';
import type { Finding } from '../../../src/analyze/finding.ts';
import { parseManifests } from '../../../src/analyze/manifests.ts';
import { analyze, analyzeFiles, blocking, brief } from './fixtures.ts';

const CODES = ['SB1001', 'SB1002', 'SB1003', 'SB1004', 'SB1005', 'SB1006', 'SB1007', 'SB1008'];

function objectsOf(yaml: string) {
  const parsed = parseManifests(yaml, 'inline.yaml', 'default');
  if (parsed.findings.length > 0) throw new Error(parsed.findings.map((item) => item.message).join('; '));
  return parsed.objects.map((loaded) => loaded.object);
}

/** The findings of this family on inline YAML documents. */
function run(yaml: string, live = false): Finding[] {
  return analyze(objectsOf(yaml), live).filter((item) => CODES.includes(item.code));
}

const codesOf = (yaml: string, live = false) => run(yaml, live).map(brief);

const service = (name: string, namespace: string, ports: number[], annotations = '') => `
apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: ${namespace}${annotations === '' ? '' : `, annotations: { ${annotations} }`} }
spec: { ports: [${ports.map((port) => `{ name: http-${port}, port: ${port} }`).join(', ')}] }
---`;

describe('virtual-services fixtures', () => {
  it('reports exactly the listed findings on virtual-services.positive.yaml', () => {
    const found = analyzeFiles('test/fixtures/analyze/virtual-services.positive.yaml').filter((item) => CODES.includes(item.code));
    expect(found.map(brief)).toEqual([
      'SB1001 VirtualService orders/payments-override',
      'SB1006 VirtualService shop/admin-api',
      'SB1002 VirtualService shop/catalog',
      'SB1002 VirtualService shop/catalog',
      'SB1002 VirtualService shop/catalog',
      'SB1002 VirtualService shop/catalog',
      'SB1001 VirtualService shop/payments',
      'SB1001 VirtualService shop/reviews',
      'SB1001 VirtualService shop/reviews-debug',
      'SB1003 VirtualService shop/storefront',
      'SB1007 VirtualService shop/legacy',
      'SB1007 VirtualService shop/legacy',
      'SB1007 VirtualService shop/legacy',
      'SB1004 VirtualService shop/search',
      'SB1004 VirtualService shop/search',
      'SB1004 VirtualService shop/search',
      'SB1008 VirtualService shop/storefront',
      'SB1005 VirtualService shop/search',
    ]);
  });

  it('reports none of them, and no error or warning at all, on virtual-services.negative.yaml', () => {
    const found = analyzeFiles('test/fixtures/analyze/virtual-services.negative.yaml');
    expect(blocking(found, CODES)).toEqual([]);
  });

  it('names the field, the cause and the fix', () => {
    const messages = analyzeFiles('test/fixtures/analyze/virtual-services.positive.yaml').filter((item) => CODES.includes(item.code)).map((item) => item.message);
    expect(messages).toEqual(expect.arrayContaining([
      expect.stringMatching(/^spec\.hosts: reviews \(reviews\.shop\.svc\.cluster\.local\) is also a host of shop\/reviews-debug.*merge them/),
      expect.stringMatching(/^spec\.http\[0\]\.route\[0\]\.destination\.host catalogue \(catalogue\.shop\.svc\.cluster\.local\) matches no Service.*503/),
      expect.stringMatching(/^spec\.http\[0\]\.mirror\.host reviews\.shop names no service: istiod expands only one-word short names.*\.svc\.cluster\.local$/),
      expect.stringMatching(/^spec\.http\[0\]\.mirrors\[0\]\.destination\.host .*compliance\/audit \(exported to namespace compliance\).*\(namespace shop\)/),
      expect.stringMatching(/^spec\.tcp\[0\]\.route\[0\]\.destination\.port\.number 5433: inventory has no port 5433 \(Service shop\/inventory: 5432\)/),
      expect.stringMatching(/^spec\.http\[1\]\.route\[0\]\.destination sends to frontend without a port, and Service shop\/frontend has ports 8080, 9000/),
      expect.stringMatching(/^spec\.http\[1\] \("api-v2"\) is never used: .*spec\.http\[0\]\.match\[0\]/),
      expect.stringMatching(/^spec\.http\[4\] is never used: .*spec\.http\[3\] \(no match: it takes every request\)/),
      expect.stringMatching(/^spec\.http\[2\]\.match\[1\] is never used: it duplicates spec\.http\[0\]\.match\[0\]/),
      expect.stringMatching(/^spec\.http\[0\]\.match\[0\]\.headers\["@request\.auth\.claims\.groups"\] .*shop\/api-gateway.*Deployment gateways\/api-gateway/),
      expect.stringMatching(/^spec\.http\[0\]\.fault\.delay\.percent is deprecated.*percentage\.value/),
      expect.stringMatching(/^spec\.http\[0\]\.route\[0\]\.destination\.host sends traffic from gateway storefront to reviews without a subset.*v1, v2/),
    ]));
  });
});

describe('SB1001 ConflictingMeshGatewayVirtualServiceHosts', () => {
  const vs = (name: string, namespace: string, host: string, extra = '') => `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: ${name}, namespace: ${namespace} }
spec:
  hosts: ["${host}"]
  ${extra}
  http: [{ route: [{ destination: { host: "${host}" } }] }]
---`;

  it('keys hosts by the namespaces the VirtualServices are exported to', () => {
    // Both scoped to their own namespace: no sidecar sees both.
    expect(codesOf(vs('a', 'one', 'api.example.com', 'exportTo: ["."]') + vs('b', 'two', 'api.example.com', 'exportTo: ["."]'))).toEqual([]);
    // Both scoped to namespace three.
    expect(codesOf(vs('a', 'one', 'api.example.com', 'exportTo: [three]') + vs('b', 'two', 'api.example.com', 'exportTo: [three, four]')))
      .toEqual(['SB1001 VirtualService one/a', 'SB1001 VirtualService two/b']);
    // One exported everywhere (written "*") meets one scoped anywhere.
    expect(codesOf(vs('a', 'one', 'api.example.com', 'exportTo: ["*"]') + vs('b', 'two', 'api.example.com', 'exportTo: ["."]')))
      .toEqual(['SB1001 VirtualService one/a', 'SB1001 VirtualService two/b']);
  });

  it('expands short names in the VirtualService\'s namespace only', () => {
    expect(codesOf(vs('a', 'shop', 'reviews') + vs('b', 'orders', 'reviews'))).toEqual([]);
    expect(codesOf(vs('a', 'shop', 'reviews') + vs('b', 'orders', 'reviews.shop.svc.cluster.local')))
      .toEqual(['SB1001 VirtualService orders/b', 'SB1001 VirtualService shop/a']);
  });

  it('leaves out VirtualServices bound to gateways only, and wildcards that only overlap', () => {
    expect(codesOf(vs('a', 'shop', 'api.example.com') + vs('b', 'shop', 'api.example.com', 'gateways: [edge]'))).toEqual([]);
    expect(codesOf(vs('a', 'shop', 'api.example.com', 'gateways: [edge, mesh]') + vs('b', 'shop', 'api.example.com')))
      .toEqual(['SB1001 VirtualService shop/a', 'SB1001 VirtualService shop/b']);
    expect(codesOf(vs('a', 'shop', '*.example.com') + vs('b', 'shop', 'api.example.com'))).toEqual([]);
  });

  it('reports each VirtualService once, naming every other', () => {
    const found = run(vs('a', 'shop', 'api.example.com') + vs('b', 'shop', 'api.example.com') + vs('c', 'orders', 'api.example.com'));
    expect(found.map(brief)).toEqual(['SB1001 VirtualService orders/c', 'SB1001 VirtualService shop/a', 'SB1001 VirtualService shop/b']);
    expect(found[0]?.message).toMatch(/is also a host of shop\/a, shop\/b/);
  });
});

describe('SB1002 DestinationHostNotFound', () => {
  const route = (host: string, namespace = 'shop', extra = '', port = '') => `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: route, namespace: ${namespace} }
spec:
  hosts: [route.example.com]
  ${extra}
  http: [{ route: [{ destination: { host: "${host}"${port === '' ? '' : `, port: { number: ${port} }`} } }] }]
---`;
  const entry = (hosts: string, namespace = 'shop', extra = '') => `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: external, namespace: ${namespace} }
spec:
  hosts: [${hosts}]
  ${extra}
  resolution: DNS
  ports: [{ number: 443, name: tls, protocol: TLS }]
---`;

  it('judges a cluster-local host only when the input holds a Service of its namespace', () => {
    expect(codesOf(route('ratings'))).toEqual([]);
    expect(codesOf(service('reviews', 'shop', [9080]) + route('ratings'))).toEqual(['SB1002 VirtualService shop/route']);
    expect(codesOf(service('reviews', 'shop', [9080]) + route('ratings.other.svc.cluster.local'))).toEqual([]);
    expect(codesOf(service('reviews', 'other', [9080]) + route('ratings.other.svc.cluster.local'))).toEqual(['SB1002 VirtualService shop/route']);
  });

  it('finds Services by short name, FQDN, and across namespaces', () => {
    const services = service('reviews', 'shop', [9080]) + service('ratings', 'other', [8080]);
    expect(codesOf(services + route('reviews'))).toEqual([]);
    expect(codesOf(services + route('reviews.shop.svc.cluster.local', 'orders'))).toEqual([]);
    expect(codesOf(services + route('ratings.other.svc.cluster.local'))).toEqual([]);
    // A short name resolves in the VirtualService's namespace.
    expect(codesOf(services + route('ratings'))).toEqual(['SB1002 VirtualService shop/route']);
  });

  it('judges an external host only when the VirtualService\'s namespace has a ServiceEntry', () => {
    expect(codesOf(route('api.partner.example'))).toEqual([]);
    expect(codesOf(entry('api.payments.example') + route('api.partner.example'))).toEqual(['SB1002 VirtualService shop/route']);
    expect(codesOf(entry('api.payments.example', 'egress') + route('api.partner.example'))).toEqual([]);
  });

  it('matches ServiceEntry wildcards, and wildcard destinations', () => {
    expect(codesOf(entry('"*.partner.example"') + route('eu.api.partner.example'))).toEqual([]);
    expect(codesOf(entry('"*.partner.example"') + route('*.api.partner.example'))).toEqual([]);
    expect(codesOf(entry('"*.partner.example"') + route('partner.example'))).toEqual(['SB1002 VirtualService shop/route']);
    expect(codesOf(entry('"*.api.partner.example"') + route('*.partner.example'))).toEqual(['SB1002 VirtualService shop/route']);
  });

  it('respects exportTo of Services, ServiceEntries and the VirtualService', () => {
    const local = service('audit', 'compliance', [8080], 'networking.istio.io/exportTo: "."');
    expect(codesOf(local + route('audit.compliance.svc.cluster.local'))).toEqual(['SB1002 VirtualService shop/route']);
    expect(codesOf(local + route('audit.compliance.svc.cluster.local', 'shop', 'exportTo: [compliance]'))).toEqual([]);
    expect(codesOf(service('audit', 'compliance', [8080], 'networking.istio.io/exportTo: "shop"') + route('audit.compliance.svc.cluster.local'))).toEqual([]);
    // A VirtualService exported everywhere is judged from its own namespace, where a "." Service is visible.
    expect(codesOf(service('reviews', 'shop', [9080], 'networking.istio.io/exportTo: "."') + route('reviews', 'shop', 'exportTo: ["*"]'))).toEqual([]);
    // Exported only to a namespace that cannot see the Service.
    expect(codesOf(service('reviews', 'shop', [9080], 'networking.istio.io/exportTo: "."') + route('reviews', 'shop', 'exportTo: [elsewhere]')))
      .toEqual(['SB1002 VirtualService shop/route']);
    expect(codesOf(entry('api.partner.example', 'egress', 'exportTo: ["."]') + entry('other.example') + route('api.partner.example')))
      .toEqual(['SB1002 VirtualService shop/route']);
    expect(codesOf(entry('api.partner.example', 'egress', 'exportTo: [shop]') + route('api.partner.example'))).toEqual([]);
  });

  it('checks the port against the Service\'s or ServiceEntry\'s ports', () => {
    expect(codesOf(service('reviews', 'shop', [9080]) + route('reviews', 'shop', '', '9080'))).toEqual([]);
    expect(codesOf(service('reviews', 'shop', [9080]) + route('reviews', 'shop', '', '80'))).toEqual(['SB1002 VirtualService shop/route']);
    expect(codesOf(entry('api.partner.example') + route('api.partner.example', 'shop', '', '443'))).toEqual([]);
  });

  it('walks tcp, tls, mirror and mirrors destinations', () => {
    const found = run(`${service('reviews', 'shop', [9080])}
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: all, namespace: shop }
spec:
  hosts: [reviews]
  http:
    - route: [{ destination: { host: reviews } }]
      mirror: { host: revews }
      mirrors: [{ destination: { host: reveiws } }]
  tcp:
    - route: [{ destination: { host: reviews-db } }]
  tls:
    - match: [{ sniHosts: [reviews] }]
      route: [{ destination: { host: reviews-tls } }]
`);
    expect(found.map((item) => item.message.split(' ')[0])).toEqual([
      'spec.http[0].mirror.host', 'spec.http[0].mirrors[0].destination.host', 'spec.tcp[0].route[0].destination.host', 'spec.tls[0].route[0].destination.host',
    ]);
    expect(found[0]?.message).toMatch(/the mirrored copies are dropped/);
  });
});

describe('SB1003 VirtualServiceDestinationPortSelectorRequired', () => {
  const gatewayRoute = (gateways: string, port = '') => `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: edge, namespace: shop }
spec:
  hosts: [shop.example.com]
  gateways: [${gateways}]
  http: [{ route: [{ destination: { host: frontend${port === '' ? '' : `, port: { number: ${port} }`} } }] }]
---`;
  const gateway = (ports: number[]) => `
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: edge, namespace: shop }
spec:
  selector: { istio: ingressgateway }
  servers: [${ports.map((port) => `{ port: { number: ${port}, name: http-${port}, protocol: HTTP }, hosts: [shop.example.com] }`).join(', ')}]
---`;

  it('fires at a gateway only, when the port is missing and the service has several', () => {
    const frontend = service('frontend', 'shop', [8080, 9000]);
    expect(codesOf(frontend + gatewayRoute('edge'))).toEqual(['SB1003 VirtualService shop/edge']);
    expect(codesOf(frontend + gatewayRoute('edge, mesh'))).toEqual(['SB1003 VirtualService shop/edge']);
    expect(codesOf(frontend + gatewayRoute('edge', '8080'))).toEqual([]);
    expect(codesOf(frontend + gatewayRoute('mesh'))).toEqual([]);
    expect(codesOf(service('frontend', 'shop', [8080]) + gatewayRoute('edge'))).toEqual([]);
  });

  it('stays silent when the service has every port the bound gateway listens on', () => {
    expect(codesOf(service('frontend', 'shop', [80, 9000]) + gateway([80]) + gatewayRoute('edge'))).toEqual([]);
    expect(codesOf(service('frontend', 'shop', [80, 9000]) + gateway([80, 443]) + gatewayRoute('edge'))).toEqual(['SB1003 VirtualService shop/edge']);
  });
});

describe('SB1004 VirtualServiceUnreachableRule and SB1005 VirtualServiceIneffectiveMatch', () => {
  /** The http rules, each given by its match list (undefined: a rule without match). */
  const rules = (...matches: (string | undefined)[]) => run(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: rules, namespace: shop }
spec:
  hosts: [rules.example.com]
  http:
${matches.map((match) => `    - ${match === undefined ? '' : `match: ${match}\n      `}route: [{ destination: { host: rules.example.com } }]`).join('\n')}
`).map((item) => `${item.code} ${item.message.split(' ')[0]}`);
  const unreachable = ['SB1004 spec.http[1]'];

  it('treats an empty match, and uri prefix "/", as a catch-all', () => {
    expect(rules('[{}]', undefined)).toEqual(unreachable);
    expect(rules('[{ uri: { prefix: / }, name: all }]', '[{ headers: { x-a: { exact: "1" } } }]')).toEqual(unreachable);
    expect(rules('[{ uri: { prefix: / }, method: { exact: GET } }]', undefined)).toEqual([]);
  });

  it('knows that a present-header match covers a value match, not the reverse', () => {
    expect(rules('[{ headers: { x-a: {} } }]', '[{ headers: { x-a: { prefix: v } } }]')).toEqual(unreachable);
    expect(rules('[{ headers: { x-a: { regex: "*" } } }]', '[{ headers: { x-a: { exact: v } } }]')).toEqual(unreachable);
    expect(rules('[{ headers: { x-a: { exact: v } } }]', '[{ headers: { x-a: {} } }]')).toEqual([]);
    // An empty exact value is a matcher of its own, not "present".
    expect(rules('[{ headers: { x-a: { exact: "" } } }]', '[{ headers: { x-a: { exact: v } } }]')).toEqual([]);
  });

  it('compares prefixes, exact paths and case folding', () => {
    expect(rules('[{ uri: { prefix: /a } }]', '[{ uri: { exact: /a/b } }]')).toEqual(unreachable);
    expect(rules('[{ uri: { prefix: /a }, ignoreUriCase: true }]', '[{ uri: { prefix: /A/b } }]')).toEqual(unreachable);
    expect(rules('[{ uri: { prefix: /a } }]', '[{ uri: { prefix: /a/b }, ignoreUriCase: true }]')).toEqual([]);
    expect(rules('[{ uri: { regex: "/a.*" } }]', '[{ uri: { prefix: /a } }]')).toEqual([]);
  });

  it('reports a match an earlier one covers in an otherwise reachable rule, with the names ignored', () => {
    expect(rules('[{ name: first, uri: { prefix: /a } }]', '[{ name: second, uri: { prefix: /a } }, { uri: { prefix: /b } }]'))
      .toEqual(['SB1005 spec.http[1].match[0]']);
    expect(rules('[{ uri: { prefix: /a } }, { uri: { prefix: /a/b } }]')).toEqual(['SB1005 spec.http[0].match[1]']);
  });

  it('does not guess what a malformed match selects', () => {
    expect(rules(undefined, '["oops"]')).toEqual([]);
  });
});

describe('SB1006 JwtClaimBasedRoutingWithoutRequestAuthN', () => {
  const claims = (header: string, gateways = '[edge]', field = 'headers') => `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: claims, namespace: shop }
spec:
  hosts: [api.example.com]
  gateways: ${gateways}
  http:
    - match: [{ ${field}: { "${header}": { exact: admin } } }]
      route: [{ destination: { host: api.example.com } }]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: edge, namespace: shop }
spec:
  selector: { istio: edge }
  servers: [{ port: { number: 80, name: http, protocol: HTTP }, hosts: [api.example.com] }]
---`;
  const pod = `
apiVersion: v1
kind: Pod
metadata: { name: edge-1, namespace: gateways, labels: { istio: edge } }
spec: { containers: [{ name: istio-proxy, image: auto }] }
---`;
  const requestAuthentication = (namespace: string, selector = '') => `
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: { name: jwt, namespace: ${namespace} }
spec:
  ${selector === '' ? '' : `selector: { matchLabels: { ${selector} } }`}
  jwtRules: [{ issuer: "https://issuer.example" }]
---`;

  it('fires for the pods a gateway selects when no RequestAuthentication selects them', () => {
    expect(codesOf(claims('@request.auth.claims.group') + pod, true)).toEqual(['SB1006 VirtualService shop/claims']);
    expect(codesOf(claims('@request.auth.claims[group][sub]') + pod, true)).toEqual(['SB1006 VirtualService shop/claims']);
    expect(codesOf(claims('@request.auth.claims.group', '[edge]', 'withoutHeaders') + pod, true)).toEqual(['SB1006 VirtualService shop/claims']);
  });

  it('accepts a RequestAuthentication of the pods\' namespace or of the root namespace that selects them', () => {
    expect(codesOf(claims('@request.auth.claims.group') + pod + requestAuthentication('gateways'), true)).toEqual([]);
    expect(codesOf(claims('@request.auth.claims.group') + pod + requestAuthentication('istio-system', 'istio: edge'), true)).toEqual([]);
    expect(codesOf(claims('@request.auth.claims.group') + pod + requestAuthentication('istio-system', 'istio: other'), true))
      .toEqual(['SB1006 VirtualService shop/claims']);
    expect(codesOf(claims('@request.auth.claims.group') + pod + requestAuthentication('shop'), true)).toEqual(['SB1006 VirtualService shop/claims']);
  });

  it('needs the Gateway and its pods in the input, and a claim header', () => {
    expect(codesOf(claims('@request.auth.claims.group'))).toEqual([]);
    expect(codesOf(claims('@request.auth.claims') + pod, true)).toEqual([]);
    expect(codesOf(claims('x-group') + pod, true)).toEqual([]);
    expect(codesOf(claims('@request.auth.claims.group', '[mesh, missing]') + pod, true)).toEqual([]);
  });
});

describe('SB1007 Deprecated', () => {
  it('reports mirrorPercent, and says when the replacement makes it ignored', () => {
    const found = run(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: legacy, namespace: shop }
spec:
  hosts: [legacy.example.com]
  http:
    - mirror: { host: legacy.example.com }
      mirrorPercent: 5
      mirrorPercentage: { value: 1 }
      route: [{ destination: { host: legacy.example.com } }]
`);
    expect(found.map((item) => item.message))
      .toEqual([expect.stringMatching(/^spec\.http\[0\]\.mirrorPercent is deprecated, and ignored because the route also sets its replacement/)]);
  });
});

describe('SB1008 IngressRouteRulesNotAffected', () => {
  const split = (namespace: string, host: string, gateways = '') => `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: split, namespace: ${namespace} }
spec:
  hosts: [${host}]
  ${gateways}
  http: [{ route: [{ destination: { host: ${host}, subset: v1 }, weight: 90 }, { destination: { host: ${host}, subset: v2 }, weight: 10 }] }]
---`;
  const edge = (host: string, subset = '') => `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: edge, namespace: istio-system }
spec:
  hosts: [shop.example.com]
  gateways: [edge]
  http: [{ route: [{ destination: { host: ${host}${subset === '' ? '' : `, subset: ${subset}`} } }] }]
---`;

  it('compares hosts fully qualified, across namespaces', () => {
    expect(codesOf(split('shop', 'reviews') + edge('reviews.shop.svc.cluster.local'))).toEqual(['SB1008 VirtualService istio-system/edge']);
    expect(codesOf(split('shop', 'reviews') + edge('reviews'))).toEqual([]);
  });

  it('stays silent when the gateway route names a subset, or the split is of another host', () => {
    expect(codesOf(split('shop', 'reviews') + edge('reviews.shop.svc.cluster.local', 'v1'))).toEqual([]);
    expect(codesOf(split('shop', 'ratings') + edge('reviews.shop.svc.cluster.local'))).toEqual([]);
  });
});
