// `switchboard analyze` on Rollouts that list several VirtualServices: each is looked up in its
// own namespace, its routes of every kind resolved as the controller does, a route two Rollouts
// of different namespaces would manage is reported (SB0806), and so is a DestinationRule the
// proxies of another namespace's VirtualService could not see.
import { describe, expect, it } from 'vitest';
import { parseManifests } from '../../../src/analyze/manifests.ts';
import { analyze, brief } from './fixtures.ts';

const CODES = ['SB0801', 'SB0804', 'SB0806', 'SB0807', 'SB0808'];

function run(yaml: string) {
  const parsed = parseManifests(yaml, 'inline.yaml', 'default');
  if (parsed.findings.length > 0) throw new Error(parsed.findings.map((item) => item.message).join('; '));
  return analyze(parsed.objects.map((loaded) => loaded.object)).filter((item) => CODES.includes(item.code));
}

const rollout = (name: string, namespace: string, virtualServices: string) => `
apiVersion: switchboard.dev/v1alpha1
kind: Rollout
metadata: { name: ${name}, namespace: ${namespace} }
spec:
  selector: { matchLabels: { app: ${name} } }
  template: { metadata: { labels: { app: ${name} } }, spec: { containers: [{ name: app, image: app:1 }] } }
  trafficRouting:
    host: cart
    virtualServices: ${virtualServices}
    destinationRule: { name: cart }
  steps: [{ setWeight: 10 }]
---`;

const destinationRule = (namespace: string, exportTo = '') => `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: cart, namespace: ${namespace} }
spec: { host: cart${exportTo === '' ? '' : `, exportTo: ${exportTo}`}, subsets: [{ name: stable, labels: { app: cart } }, { name: canary, labels: { app: cart } }] }
---`;

const SPLIT = (host: string, port: number) =>
  `[{ destination: { host: ${host}, subset: stable, port: { number: ${port} } }, weight: 100 }, { destination: { host: ${host}, subset: canary, port: { number: ${port} } }, weight: 0 }]`;

const OWN = `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: cart, namespace: shop }
spec:
  hosts: [cart]
  http: [{ name: primary, route: ${SPLIT('cart', 80)} }]
---`;

const EDGE = `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: edge, namespace: gateways }
spec:
  hosts: [cart.shop.svc.cluster.local]
  tcp: [{ match: [{ port: 9000 }], route: ${SPLIT('cart.shop.svc.cluster.local', 9000)} }]
---`;

const LIST = '[{ name: cart, routes: [primary] }, { name: edge, namespace: gateways, tcpRoutes: [{ port: 9000 }] }]';

describe('analyze: a Rollout with several VirtualServices', () => {
  it('finds each in its own namespace and reports nothing when all fit', () => {
    expect(run(rollout('cart', 'shop', LIST) + destinationRule('shop') + OWN + EDGE)).toEqual([]);
  });

  it('a listed VirtualService that is missing is named with its namespace and field (SB0801)', () => {
    const found = run(rollout('cart', 'shop', LIST) + destinationRule('shop') + OWN);
    expect(found.map(brief)).toEqual(['SB0801 Rollout shop/cart']);
    expect(found[0]!.message).toMatch(/^spec\.trafficRouting\.virtualServices\[1\]\.name: VirtualService edge does not exist in namespace gateways/);
  });

  it('a tcp port no route of the VirtualService matches is named (SB0804)', () => {
    const list = '[{ name: cart, routes: [primary] }, { name: edge, namespace: gateways, tcpRoutes: [{ port: 9100 }] }]';
    const found = run(rollout('cart', 'shop', list) + destinationRule('shop') + OWN + EDGE);
    expect(found.map(brief)).toEqual(['SB0804 Rollout shop/cart']);
    expect(found[0]!.message).toContain('VirtualService edge has no tcp route matching port 9100');
  });

  it('the same tcp route of another namespace under two Rollouts of different namespaces is reported once (SB0806)', () => {
    const second = rollout('cart', 'shop-eu', '[{ name: edge, namespace: gateways, tcpRoutes: [{ port: 9000 }] }]').replace('host: cart', 'host: cart.shop');
    const found = run(rollout('cart', 'shop', LIST) + destinationRule('shop') + OWN + EDGE + second + destinationRule('shop-eu').replace('host: cart', 'host: cart.shop'));
    expect(found.map(brief)).toEqual(['SB0806 Rollout shop-eu/cart']);
    expect(found[0]!.message).toMatch(/^VirtualService edge: tcp route #0 is also managed by Rollout shop\/cart/);
  });

  it('a header route name taken by a route of another listed VirtualService with weighted http routes is reported (SB0808)', () => {
    const withHeader = rollout('cart', 'shop', '[{ name: cart, routes: [primary] }, { name: web, namespace: gateways, routes: [api] }]')
      .replace('destinationRule: { name: cart }', 'destinationRule: { name: cart }\n    managedRoutes: [{ name: testers }]');
    const web = `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: web, namespace: gateways }
spec:
  hosts: [pay.example.com]
  http:
    - { name: testers, route: [{ destination: { host: cart.shop.svc.cluster.local, subset: stable } }] }
    - { name: api, route: ${SPLIT('cart.shop.svc.cluster.local', 80)} }
---`;
    const found = run(withHeader + destinationRule('shop') + OWN + web);
    expect(found.map(brief)).toEqual(['SB0808 Rollout shop/cart']);
    expect(found[0]!.message).toContain('VirtualService web already has an http route named "testers"');
  });

  it('a DestinationRule kept to its namespace while the VirtualService of another is seen everywhere is reported (SB0804)', () => {
    const found = run(rollout('cart', 'shop', LIST) + destinationRule('shop', '["."]') + OWN + EDGE);
    expect(found.map(brief)).toEqual(['SB0804 Rollout shop/cart']);
    expect(found[0]!.message).toContain('VirtualService gateways/edge is seen from every namespace, but DestinationRule cart (exportTo: namespace shop) is not seen from every namespace');
  });
});
