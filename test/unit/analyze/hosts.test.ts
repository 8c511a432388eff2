// The one host resolver (src/analyze/hosts.ts) and the one exportTo reader (src/mesh/export-to.ts),
// on the cases where their former copies differed: two- and three-part names, wildcards, `~`, and
// which namespaces count for a VirtualService's destinations and for a DestinationRule.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  clusterNamespaceOf, HostIndex, hostCovers, hostRegistry, hostsOverlap, qualifyHost, registryHosts, serviceExportScope, specExportScope,
  unexpandedServiceName,
} from '../../../src/analyze/hosts.ts';
import { objectSet, type MeshObject } from '../../../src/analyze/objects.ts';
import { destinationNamespaces } from '../../../src/analyze/rules/virtual-services/hosts.ts';
import { exportedTo } from '../../../src/mesh/sync-rule.ts';
import { describeScope, exportScope, exportToAnnotation, scopesMeet, visibleIn, withNamespace, type ExportScope } from '../../../src/mesh/export-to.ts';

const object = (kind: string, namespace: string, name: string, spec: Record<string, unknown> = {}, extra: Partial<MeshObject> = {}): MeshObject => ({
  apiVersion: kind === 'Service' ? 'v1' : 'networking.istio.io/v1', kind, metadata: { name, namespace }, spec, ...extra,
});

const shown = (scope: ExportScope) => (scope.all ? '*' : [...scope.namespaces].sort().join(','));

describe('written hosts', () => {
  // istiod expands only a one-word name; the subset rules' pairing also reads name.namespace[.svc] as the Service.
  it.each([
    ['reviews', 'reviews.shop.svc.cluster.local', 'reviews.shop.svc.cluster.local'],
    ['reviews.catalog', 'reviews.catalog', 'reviews.catalog.svc.cluster.local'],
    ['reviews.catalog.svc', 'reviews.catalog.svc', 'reviews.catalog.svc.cluster.local'],
    ['reviews.catalog.svc.cluster.local', 'reviews.catalog.svc.cluster.local', 'reviews.catalog.svc.cluster.local'],
    ['api.example.com', 'api.example.com', 'api.example.com'],
    ['*.example.com', '*.example.com', '*.example.com'],
    ['*', '*', '*'],
  ])('%s in namespace shop: istiod %s, subsets %s', (host, istio, lenient) => {
    expect(qualifyHost(host, 'shop', 'istiod')).toBe(istio);
    expect(qualifyHost(host, 'shop', 'service-names')).toBe(lenient);
  });

  it.each([
    ['reviews.catalog', { name: 'reviews', namespace: 'catalog' }],
    ['reviews.catalog.svc', { name: 'reviews', namespace: 'catalog' }],
    ['reviews', undefined],
    ['api.example.com', undefined],
    ['*.catalog', undefined],
  ])('%s is a Service name istiod does not expand: %j', (host, expected) => {
    expect(unexpandedServiceName(host)).toEqual(expected);
  });

  it.each([
    ['reviews.shop.svc.cluster.local', 'shop'],
    ['*.shop.svc.cluster.local', 'shop'],
    ['api.example.com', ''],
    ['reviews.shop', ''],
    ['*.example.com', ''],
    ['*', undefined],
    ['*.local', undefined],
    ['*.cluster.local', undefined],
    ['*.svc.cluster.local', undefined],
  ])('%s is decided by the Services of namespace %j', (host, namespace) => {
    expect(clusterNamespaceOf(host)).toBe(namespace);
  });
});

describe('hostCovers and hostsOverlap', () => {
  it.each([
    ['api.example.com', 'api.example.com', true, true],
    ['*.example.com', 'api.example.com', true, true],
    ['*.example.com', 'api.eu.example.com', true, true],
    ['*.example.com', 'example.com', false, false],
    ['*.example.com', '*.eu.example.com', true, true],
    ['*.eu.example.com', '*.example.com', false, true],
    ['api.example.com', '*.example.com', false, true],
    ['*.example.net', 'api.example.com', false, false],
    // A partial wildcard matches by suffix, as istiod's host.Name does (validation only warns about it).
    ['*pay.example.com', 'checkout-pay.example.com', true, true],
    ['*', 'anything.example.com', true, true],
  ])('%s takes %s: %s; they overlap: %s', (pattern, host, covers, overlaps) => {
    expect(hostCovers(pattern, host)).toBe(covers);
    expect(hostsOverlap(pattern, host)).toBe(overlaps);
  });
});

describe('HostIndex', () => {
  const label = fc.constantFrom('api', 'eu', 'pay', 'example', 'com', 'shop', 'svc');
  const host = fc.tuple(fc.constantFrom('', '*.', '*', '*pay'), fc.array(label, { minLength: 1, maxLength: 4 }))
    .map(([prefix, labels]) => (prefix === '*' ? '*' : `${prefix}${labels.join('.')}`));

  it('finds exactly what a scan with hostCovers and hostsOverlap finds, in the order given', () => {
    fc.assert(fc.property(fc.array(host, { maxLength: 12 }), host, (hosts, query) => {
      const entries = hosts.map((written, index) => ({ host: written, index }));
      const index = new HostIndex(entries);
      expect(index.covering(query)).toEqual(entries.filter((entry) => hostCovers(entry.host, query)));
      expect(index.overlapping(query)).toEqual(entries.filter((entry) => hostsOverlap(entry.host, query)));
    }), { numRuns: 500 });
  });
});

describe('exportTo', () => {
  it.each<[readonly unknown[] | undefined, string]>([
    [undefined, '*'],
    [[], '*'],
    [['*'], '*'],
    [['.'], 'shop'],
    [['.', 'gateways'], 'gateways,shop'],
    [['shop', '.'], 'shop'],
    [['~'], ''],
    // istiod: `*` wins over everything, then `~` over any namespace.
    [['~', 'gateways'], ''],
    [['*', '~'], '*'],
    [[' gateways ', ''], 'gateways'],
    [[1, 'gateways'], 'gateways'],
  ])('%j written in namespace shop: %s', (exportTo, expected) => {
    expect(shown(exportScope(exportTo, 'shop'))).toBe(expected);
  });

  it('reads the Service annotation as istiod splits it', () => {
    expect(exportToAnnotation(' ., gateways ,,')).toEqual(['.', 'gateways']);
    expect(exportToAnnotation(' ')).toEqual([]);
    expect(exportToAnnotation(undefined)).toEqual([]);
    const service = object('Service', 'shop', 'reviews', {}, { metadata: { name: 'reviews', namespace: 'shop', annotations: { 'networking.istio.io/exportTo': '~' } } });
    expect(shown(serviceExportScope(service))).toBe('');
  });

  it('meets, widens and describes scopes', () => {
    const shop = exportScope(['.'], 'shop');
    const none = exportScope(['~'], 'shop');
    const all = exportScope([], 'shop');
    expect([scopesMeet(shop, all), scopesMeet(none, all), scopesMeet(shop, exportScope(['shop'], 'other')), scopesMeet(shop, exportScope(['.'], 'other'))])
      .toEqual([true, false, true, false]);
    expect(visibleIn(shop, 'shop') && !visibleIn(shop, 'other') && visibleIn(all, 'other') && !visibleIn(none, 'shop')).toBe(true);
    expect(shown(withNamespace(none, 'shop'))).toBe('shop');
    expect(withNamespace(all, 'shop')).toBe(all);
    expect([describeScope(all), describeScope(none), describeScope(exportScope(['b', 'a'], 'shop'))]).toEqual(['every namespace', 'no namespace', 'namespace a, b']);
  });

  // The data-plane tracker and analyze read the same list the same way.
  it.each<[readonly string[] | undefined, string, boolean]>([
    [undefined, 'other', true],
    [['.'], 'shop', true],
    [['.'], 'other', false],
    [['~', 'other'], 'other', false],
  ])('the tracker sees exportTo %j from %s: %s', (exportTo, namespace, expected) => {
    expect(exportedTo('shop', exportTo)(namespace)).toBe(visibleIn(exportScope(exportTo, 'shop'), namespace));
    expect(exportedTo('shop', exportTo)(namespace)).toBe(expected);
  });
});

describe('which namespaces count', () => {
  // SB1002 judges a VirtualService exported everywhere from its own namespace, as Istio's analyzer does;
  // SB1203 lets a DestinationRule apply wherever it is exported, its own namespace always included.
  it.each([
    [undefined, 'shop', '*'],
    [['*'], 'shop', '*'],
    [['.'], 'shop', 'shop'],
    [['gateways'], 'gateways', 'gateways,shop'],
    [['.', 'gateways'], 'gateways,shop', 'gateways,shop'],
  ])('exportTo %j: a VirtualService\'s destinations are judged from %s, a DestinationRule applies in %s', (exportTo, virtualService, destinationRule) => {
    const spec = exportTo === undefined ? {} : { exportTo };
    expect(shown(destinationNamespaces(object('VirtualService', 'shop', 'vs', spec)))).toBe(virtualService);
    expect(shown(withNamespace(specExportScope(object('DestinationRule', 'shop', 'dr', spec)), 'shop'))).toBe(destinationRule);
  });
});

describe('the registry', () => {
  const objects = objectSet([
    object('Service', 'shop', 'reviews', { ports: [{ port: 9080 }, { port: 9080 }] },
      { metadata: { name: 'reviews', namespace: 'shop', annotations: { 'networking.istio.io/exportTo': '., gateways' } } }),
    { ...object('Service', 'shop', 'knative'), apiVersion: 'serving.knative.dev/v1' },
    object('ServiceEntry', 'egress', 'partner', { hosts: ['api.partner.example', 'legacy'], ports: [{ number: 443 }], exportTo: ['.'] }),
    { ...object('ServiceEntry', 'egress', 'foreign', { hosts: ['x.example.com'] }), apiVersion: 'example.com/v1' },
    { ...object('Gateway', 'shop', 'ingress', { gatewayClassName: 'istio' }), apiVersion: 'gateway.networking.k8s.io/v1' },
    object('Gateway', 'shop', 'classic', { selector: { istio: 'ingressgateway' } }),
  ]);

  it('holds core Services, Istio ServiceEntries and the Services of Gateway API Gateways, each with its scope', () => {
    expect(registryHosts(objects).map((entry) => `${entry.object.kind} ${entry.host} [${entry.ports.join(',')}] ${shown(entry.scope)}`)).toEqual([
      'Service reviews.shop.svc.cluster.local [9080] gateways,shop',
      'Gateway ingress-istio.shop.svc.cluster.local [] *',
      'ServiceEntry api.partner.example [443] egress',
      'ServiceEntry legacy.egress.svc.cluster.local [443] egress',
    ]);
  });

  it('knows which namespaces the input shows Services and ServiceEntries of', () => {
    const registry = hostRegistry(objects);
    expect([...registry.serviceNamespaces]).toEqual(['shop']);
    expect([...registry.serviceEntryNamespaces]).toEqual(['egress']);
    expect(hostRegistry(objects)).toBe(registry);
    expect(registry.hosts.covering('reviews.shop.svc.cluster.local').map((entry) => entry.object.metadata.name)).toEqual(['reviews']);
  });
});
