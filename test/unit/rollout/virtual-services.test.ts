// Several VirtualServices (spec.trafficRouting.virtualServices): which routes of each kind are
// managed, the weight patch per kind, hosts seen from another namespace, and the decisions that
// write them all at once or stop with a reason that names what is missing.
import { applyPatch, type Operation } from 'rfc6902';
import { describe, expect, it } from 'vitest';
import type { Action } from '../../../src/rollout/actions.ts';
import { decide } from '../../../src/rollout/decide.ts';
import type { ObservedState } from '../../../src/rollout/observed.ts';
import { resolveSpec, resolveTrafficRouting } from '../../../src/rollout/defaults.ts';
import { exportProblem } from '../../../src/rollout/routing/routing.ts';
import { CLAIMS_ANNOTATION, claimStands } from '../../../src/rollout/routing/claims.ts';
import { buildWeightPatch, hostMatches, observedCanaryWeight, resolveManagedRoutes, routingFrom, type RouteKind } from '../../../src/rollout/routing/weights.ts';
import type { TrafficRouting, VirtualService, VirtualServiceRef } from '../../../src/rollout/types.ts';
import { validateRollout } from '../../../src/rollout/validate.ts';
import { REV_B, at, observed, readyDestinationRule, rollout, rolloutStatus, seedVirtualService } from './fixtures.ts';

const HOST = 'payment-service';
const FQDN = 'payment-service.production.svc.cluster.local';
const split = (canary: number, host = HOST, port?: number) => [
  { destination: { host, subset: 'stable', ...(port === undefined ? {} : { port: { number: port } }) }, weight: 100 - canary },
  { destination: { host, subset: 'canary', ...(port === undefined ? {} : { port: { number: port } }) }, weight: canary },
];
const stableOnly = (host = HOST) => [{ destination: { host, subset: 'stable' }, weight: 100 }];

/** A VirtualService with one route of each kind to both subsets, and one of each to stable alone. */
function mixed(canary = 0, namespace = 'production', host = HOST): VirtualService {
  return {
    metadata: { name: 'edge', namespace, resourceVersion: '3' },
    spec: {
      hosts: [host],
      http: [{ name: 'admin', route: stableOnly(host) }, { name: 'web', route: split(canary, host) }],
      tcp: [{ match: [{ port: 5432 }], route: stableOnly(host) }, { match: [{ port: 9000 }], route: split(canary, host, 9000) }],
      tls: [
        { match: [{ port: 443, sniHosts: ['api.example.com'] }], route: split(canary, host, 443) },
        { match: [{ port: 443, sniHosts: ['admin.example.com'] }], route: stableOnly(host) },
      ],
    },
  };
}

const routingOf = (ref: Partial<VirtualServiceRef> = {}) =>
  resolveTrafficRouting({ host: HOST, virtualService: { name: 'edge', ...ref }, destinationRule: { name: 'payment-service-destination' } });

function resolved(vs: VirtualService, ref: Partial<VirtualServiceRef> = {}) {
  const routing = routingOf(ref);
  const resolution = resolveManagedRoutes(vs, routing, 'production');
  if (!resolution.ok) throw new Error(resolution.message);
  return { routing, routes: resolution.routes };
}

function applied(vs: VirtualService, patch: Operation[]): VirtualService {
  const copy = structuredClone(vs);
  expect(applyPatch(copy, patch)).toEqual(patch.map(() => null));
  return copy;
}

const canaryOf = (vs: VirtualService, kind: RouteKind, index: number) => vs.spec[kind]?.[index]?.route?.find((d) => d.destination.subset === 'canary')?.weight;

describe('managed routes by kind', () => {
  it.each<[string, Partial<VirtualServiceRef>, string[]]>([
    ['nothing named: every route of every kind that sends to both subsets', {}, ['http/1', 'tcp/1', 'tls/0']],
    ['http routes named: the tcp and tls routes still by the rule', { routes: ['web'] }, ['http/1', 'tcp/1', 'tls/0']],
    ['a tcp port named: that route, even to stable alone', { tcpRoutes: [{ port: 5432 }] }, ['http/1', 'tcp/0', 'tls/0']],
    ['a tls port and SNI hosts named: the route whose hosts are exactly those', { tlsRoutes: [{ port: 443, sniHosts: ['admin.example.com'] }] }, ['http/1', 'tcp/1', 'tls/1']],
  ])('%s', (_name, ref, expected) => {
    const { routes } = resolved(mixed(), ref);
    expect(routes.map((route) => `${route.kind ?? 'http'}/${route.index}`)).toEqual(expected);
  });

  it.each<[string, Partial<VirtualServiceRef>, string]>([
    ['an http route name', { routes: ['mobile'] }, 'no http route named "mobile" (named routes: admin, web); fix spec.trafficRouting.virtualService.routes'],
    ['a tcp port', { tcpRoutes: [{ port: 6379 }] }, 'no tcp route matching port 6379 (tcp routes: tcp route #0 (port 5432); tcp route #1 (port 9000)); fix spec.trafficRouting.virtualService.tcpRoutes'],
    ['a tls port with other SNI hosts', { tlsRoutes: [{ port: 443, sniHosts: ['api.example.com', 'www.example.com'] }] }, 'no tls route matching port 443 and sniHosts api.example.com, www.example.com'],
  ])('%s that matches nothing is named, never skipped', (_name, ref, message) => {
    expect(resolveManagedRoutes(mixed(), routingOf(ref), 'production')).toEqual({ ok: false, reason: 'RouteNotFound', message: expect.stringContaining(message) });
  });

  it('a tcp route matched on two ports at once is no route of either port', () => {
    const vs = mixed();
    vs.spec.tcp![1]!.match = [{ port: 9000 }, { port: 9001 }];
    expect(resolveManagedRoutes(vs, routingOf({ tcpRoutes: [{ port: 9000 }] }), 'production')).toMatchObject({ ok: false, reason: 'RouteNotFound' });
  });

  it('a VirtualService with no route to both subsets of any kind is refused', () => {
    const vs: VirtualService = { metadata: { name: 'edge' }, spec: { tcp: [{ match: [{ port: 9000 }], route: stableOnly() }] } };
    expect(resolveManagedRoutes(vs, routingOf(), 'production')).toMatchObject({ ok: false, reason: 'NoManagedRoutes' });
  });
});

describe('weight patch by kind', () => {
  it.each<[string, number, RouteKind, number, Operation[]]>([
    ['http: by name', 30, 'http', 1, [
      { op: 'test', path: '/spec/http/1/name', value: 'web' },
      { op: 'test', path: '/spec/http/1/route/0/destination/subset', value: 'stable' },
      { op: 'test', path: '/spec/http/1/route/0/weight', value: 100 },
      { op: 'replace', path: '/spec/http/1/route/0/weight', value: 70 },
      { op: 'test', path: '/spec/http/1/route/1/destination/subset', value: 'canary' },
      { op: 'test', path: '/spec/http/1/route/1/weight', value: 0 },
      { op: 'replace', path: '/spec/http/1/route/1/weight', value: 30 },
    ]],
    ['tcp: guarded by its match, having no name', 30, 'tcp', 1, [
      { op: 'test', path: '/spec/tcp/1/match', value: [{ port: 9000 }] },
      { op: 'test', path: '/spec/tcp/1/route/0/destination/subset', value: 'stable' },
      { op: 'test', path: '/spec/tcp/1/route/0/weight', value: 100 },
      { op: 'replace', path: '/spec/tcp/1/route/0/weight', value: 70 },
      { op: 'test', path: '/spec/tcp/1/route/1/destination/subset', value: 'canary' },
      { op: 'test', path: '/spec/tcp/1/route/1/weight', value: 0 },
      { op: 'replace', path: '/spec/tcp/1/route/1/weight', value: 30 },
    ]],
    ['tls: the same, under spec.tls', 30, 'tls', 0, [
      { op: 'test', path: '/spec/tls/0/match', value: [{ port: 443, sniHosts: ['api.example.com'] }] },
      { op: 'test', path: '/spec/tls/0/route/0/destination/subset', value: 'stable' },
      { op: 'test', path: '/spec/tls/0/route/0/weight', value: 100 },
      { op: 'replace', path: '/spec/tls/0/route/0/weight', value: 70 },
      { op: 'test', path: '/spec/tls/0/route/1/destination/subset', value: 'canary' },
      { op: 'test', path: '/spec/tls/0/route/1/weight', value: 0 },
      { op: 'replace', path: '/spec/tls/0/route/1/weight', value: 30 },
    ]],
  ])('%s', (_name, weight, kind, index, expected) => {
    const vs = mixed(0);
    const { routing, routes } = resolved(vs);
    const route = routes.find((r) => (r.kind ?? 'http') === kind && r.index === index)!;
    expect(buildWeightPatch([route], routing, weight)).toEqual(expected);
  });

  it('every managed route of every kind takes the weight; the others are untouched', () => {
    const vs = mixed(0);
    const { routing, routes } = resolved(vs);
    const after = applied(vs, buildWeightPatch(routes, routing, 40));
    expect([canaryOf(after, 'http', 1), canaryOf(after, 'tcp', 1), canaryOf(after, 'tls', 0)]).toEqual([40, 40, 40]);
    expect([after.spec.http![0], after.spec.tcp![0], after.spec.tls![1]]).toEqual([vs.spec.http![0], vs.spec.tcp![0], vs.spec.tls![1]]);
    expect(observedCanaryWeight(resolved(after).routes)).toBe(40);
  });

  it('a tcp route whose canary destination is missing gets one, with the stable destination\'s port', () => {
    const vs = mixed(0);
    vs.spec.tcp![0]!.route = [{ destination: { host: HOST, subset: 'stable', port: { number: 5432 } }, weight: 100 }];
    const { routing, routes } = resolved(vs, { tcpRoutes: [{ port: 5432 }] });
    const after = applied(vs, buildWeightPatch(routes.filter((r) => r.kind === 'tcp'), routing, 10));
    expect(after.spec.tcp![0]!.route).toEqual([
      { destination: { host: HOST, subset: 'stable', port: { number: 5432 } }, weight: 90 },
      { destination: { host: HOST, subset: 'canary', port: { number: 5432 } }, weight: 10 },
    ]);
  });
});

describe('hosts seen from another namespace', () => {
  it.each([
    ['payment-service', false],
    ['payment-service.production', true],
    ['payment-service.production.svc', true],
    [FQDN, true],
    ['payment-service.gateways.svc.cluster.local', false],
  ])('%s written in namespace gateways is the Rollout\'s host: %s', (written, expected) => {
    const scoped = routingFrom(routingOf(), 'production', 'gateways');
    expect(hostMatches(written, scoped.host, 'gateways')).toBe(expected);
  });

  it('a VirtualService of another namespace that names the host short routes to its own namespace\'s Service: no route is ours', () => {
    const vs = mixed(0, 'gateways');
    expect(resolveManagedRoutes(vs, routingFrom(routingOf(), 'production', 'gateways'), 'gateways')).toMatchObject({ ok: false, reason: 'NoManagedRoutes' });
    const qualified = mixed(0, 'gateways', FQDN);
    expect(resolveManagedRoutes(qualified, routingFrom(routingOf(), 'production', 'gateways'), 'gateways')).toMatchObject({ ok: true });
  });

  it('the DestinationRule must be seen wherever a VirtualService of another namespace is', () => {
    const dr = readyDestinationRule();
    const vs = mixed(0, 'gateways', FQDN);
    expect(exportProblem(dr, [vs], 'production')).toBeUndefined();
    dr.spec.exportTo = ['.'];
    expect(exportProblem(dr, [vs], 'production')).toMatch(/^VirtualService gateways\/edge is seen from every namespace, but DestinationRule payment-service-destination \(exportTo: namespace production\) is not seen from every namespace/);
    vs.spec.exportTo = ['.'];
    expect(exportProblem(dr, [vs], 'production')).toMatch(/is not seen from gateways/);
    dr.spec.exportTo = ['.', 'gateways'];
    expect(exportProblem(dr, [vs], 'production')).toBeUndefined();
    expect(exportProblem({ ...dr, spec: { ...dr.spec, exportTo: ['.'] } }, [seedVirtualService()], 'production')).toBeUndefined();
  });
});

/** The seed VirtualService, then one in namespace gateways whose tcp port 9000 sends to the host. */
const LISTED: TrafficRouting = {
  host: HOST,
  virtualServices: [{ name: 'payment-service-routing' }, { name: 'edge', namespace: 'gateways', tcpRoutes: [{ port: 9000 }] }],
  destinationRule: { name: 'payment-service-destination', stableSubset: 'stable', canarySubset: 'canary' },
};

function edge(canary: number, claims: Record<string, string> | null = { 'tcp/#0': 'production/payment-service' }): VirtualService {
  return {
    metadata: { name: 'edge', namespace: 'gateways', resourceVersion: '11', ...(claims === null ? {} : { annotations: { [CLAIMS_ANNOTATION]: JSON.stringify(claims) } }) },
    spec: { hosts: [FQDN], tcp: [{ match: [{ port: 9000 }], route: split(canary, FQDN, 9000) }] },
  };
}

describe('decide with several VirtualServices', () => {
  it('one step writes the weights of both: the other VirtualService first, the first one last', () => {
    const action = decide(observed({ spec: { trafficRouting: LISTED }, otherVirtualServices: [edge(0)] }), at(1));
    expect(action).toMatchObject({ kind: 'setWeights', canaryWeight: 5, virtualService: 'payment-service-routing', before: [{ namespace: 'gateways', name: 'edge' }] });
    if (action.kind !== 'setWeights') return;
    expect(action.namespace).toBeUndefined();
    expect(action.message).toContain('VirtualServices payment-service-routing, edge send 95% to stable and 5% to canary');
    const after = applied(edge(0), action.before![0]!.patch);
    expect(after.spec.tcp![0]!.route!.map((d) => d.weight)).toEqual([95, 5]);
    expect(applied(seedVirtualService(0), action.patch).spec.http![1]!.route!.map((d) => d.weight)).toEqual([95, 5]);
  });

  it('when only the other one is behind, the first is written with its guard alone (the data plane follows that write)', () => {
    const action = decide(observed({ spec: { trafficRouting: LISTED }, virtualService: seedVirtualService(5), otherVirtualServices: [edge(0)], status: rolloutStatus({ canaryWeight: 5 }) }), at(1));
    expect(action).toMatchObject({ kind: 'setWeights', canaryWeight: 5, patch: [{ op: 'test', path: '/metadata/annotations/switchboard.dev~1managed-by-rollouts' }] });
  });

  it('a VirtualService of another namespace is claimed as namespace/name before it is written', () => {
    const action = decide(observed({ spec: { trafficRouting: LISTED }, otherVirtualServices: [edge(0, null)] }), at(1));
    expect(action).toMatchObject({
      kind: 'updateClaims', plural: 'virtualservices', namespace: 'gateways', name: 'edge',
      patch: [{ op: 'test', path: '/metadata/resourceVersion', value: '11' }, { op: 'add', path: '/metadata/annotations', value: { [CLAIMS_ANNOTATION]: '{"tcp/#0":"production/payment-service"}' } }],
    });
  });

  it('a tcp route another Rollout of that namespace owns is refused, naming it', () => {
    const action = decide(observed({ spec: { trafficRouting: LISTED }, otherVirtualServices: [edge(0, { 'tcp/#0': 'payment-service' })] }), at(1));
    expect(action).toMatchObject({ kind: 'updateStatus' });
    if (action.kind !== 'updateStatus') return;
    expect(action.status.phase).toBe('Degraded');
    expect(action.status.message).toContain('VirtualService edge: tcp route #0 is managed by Rollout payment-service');
  });

  it.each<[string, VirtualService | undefined, RegExp]>([
    ['missing', undefined, /VirtualService edge not found in namespace gateways: .* fix spec\.trafficRouting\.virtualServices\[1\]/],
    ['without the named tcp port', { ...edge(0), spec: { tcp: [{ match: [{ port: 9100 }], route: split(0, FQDN, 9100) }] } }, /VirtualService edge has no tcp route matching port 9000 \(tcp routes: tcp route #0 \(port 9100\)\); fix spec\.trafficRouting\.virtualServices\[1\]\.tcpRoutes/],
  ])('the other VirtualService %s: Degraded, with a reason that names it, and nothing written', (_name, other, message) => {
    const action = decide(observed({ spec: { trafficRouting: LISTED }, otherVirtualServices: [other] }), at(1));
    expect(action).toMatchObject({ kind: 'updateStatus' });
    if (action.kind !== 'updateStatus') return;
    expect(action.status.phase).toBe('Degraded');
    expect(action.status.message).toMatch(message);
  });

  it('a rollback sends both back to 100% stable in one write', () => {
    const rollback = { reason: 'Aborted' as const, message: 'aborted', at: '2025-01-01T00:00:00.000Z', revision: REV_B };
    const action = decide(observed({
      spec: { trafficRouting: LISTED }, virtualService: seedVirtualService(25), otherVirtualServices: [edge(25)],
      status: rolloutStatus({ currentStepIndex: 2, canaryWeight: 25, rollback }),
    }), at(1));
    expect(action).toMatchObject({ kind: 'setWeights', canaryWeight: 0, before: [{ namespace: 'gateways', name: 'edge' }] });
    if (action.kind !== 'setWeights') return;
    expect(applied(edge(25), action.before![0]!.patch).spec.tcp![0]!.route!.map((d) => d.weight)).toEqual([100, 0]);
    expect(applied(seedVirtualService(25), action.patch).spec.http![1]!.route!.map((d) => d.weight)).toEqual([100, 0]);
  });

  it('deletion restores both before letting go', () => {
    const deleting = observed({ spec: { trafficRouting: LISTED }, virtualService: seedVirtualService(25), otherVirtualServices: [edge(25)] });
    deleting.rollout.metadata.deletionTimestamp = '2025-01-01T00:00:00.000Z';
    const action = decide(deleting, at(1));
    expect(action).toMatchObject({ kind: 'setWeights', canaryWeight: 0, before: [{ namespace: 'gateways', name: 'edge' }] });
  });
});

describe('validation', () => {
  it.each<[string, Partial<TrafficRouting>, string]>([
    ['both forms', { virtualServices: [{ name: 'a' }] }, 'set exactly one of spec.trafficRouting.virtualService (one VirtualService) and spec.trafficRouting.virtualServices (a list of them)'],
    ['one listed twice', { virtualService: undefined, virtualServices: [{ name: 'a' }, { name: 'a', namespace: 'production' }] }, 'spec.trafficRouting.virtualServices[1] names VirtualService production/a again'],
    ['a port out of range', { virtualService: undefined, virtualServices: [{ name: 'a', tcpRoutes: [{ port: 70000 }] }] }, 'spec.trafficRouting.virtualServices[0].tcpRoutes[0].port 70000 must be a port number from 1 to 65535'],
    ['tls without SNI hosts', { virtualService: undefined, virtualServices: [{ name: 'a', tlsRoutes: [{ port: 443, sniHosts: [] }] }] }, 'spec.trafficRouting.virtualServices[0].tlsRoutes[0].sniHosts is empty'],
  ])('%s is refused', (_name, routing, message) => {
    const built = rollout();
    built.spec.trafficRouting = { ...built.spec.trafficRouting, ...routing };
    expect(validateRollout(built, resolveSpec(built))).toEqual(expect.arrayContaining([expect.stringContaining(message)]));
  });

  it('the single form and the list form resolve alike', () => {
    const single = resolveTrafficRouting({ host: HOST, virtualService: { name: 'a', routes: ['web'] }, destinationRule: { name: 'dr' } });
    const listed = resolveTrafficRouting({ host: HOST, virtualServices: [{ name: 'a', routes: ['web'] }], destinationRule: { name: 'dr' } });
    expect(listed).toEqual(single);
    expect(single.virtualServices).toEqual([{ name: 'a', namespace: undefined, routes: ['web'], tcpRoutes: [], tlsRoutes: [] }]);
  });
});

describe('header routes over several VirtualServices', () => {
  const HEADER = { name: 'testers', match: [{ headerName: 'x-canary', headerValue: { exact: 'yes' } }] };
  const routing: TrafficRouting = {
    host: HOST,
    virtualServices: [
      { name: 'payment-service-routing', routes: ['primary'] },
      { name: 'web-edge', namespace: 'gateways', routes: ['api'] },
      { name: 'edge', namespace: 'gateways', tcpRoutes: [{ port: 9000 }] },
    ],
    destinationRule: { name: 'payment-service-destination', stableSubset: 'stable', canarySubset: 'canary' },
    managedRoutes: [{ name: 'testers' }],
  };
  const webEdge = (): VirtualService => ({
    metadata: { name: 'web-edge', namespace: 'gateways', resourceVersion: '21' },
    spec: { hosts: ['pay.example.com'], gateways: ['ingress'], http: [{ name: 'api', route: split(0, FQDN) }] },
  });
  const named = () => {
    const vs = structuredClone(seedVirtualService(0));
    vs.spec.http![0]!.name = 'beta';
    vs.spec.http![1]!.name = 'primary';
    vs.metadata.annotations = {};
    return vs;
  };

  /** Applies route and claim writes and status updates as the API server would, until another kind of action comes. */
  function settle(state: ObservedState): Action[] {
    const done: Action[] = [];
    for (let i = 0; i < 20; i += 1) {
      const action = decide(state, at(1));
      const all = [state.virtualService!, ...(state.otherVirtualServices ?? []) as VirtualService[]];
      const named = (name: string, namespace = 'production') => all.find((vs) => vs.metadata.name === name && (vs.metadata.namespace ?? 'production') === namespace)!;
      if (action.kind === 'updateClaims' && action.plural === 'virtualservices') applyPatch(named(action.name, action.namespace), action.patch);
      else if (action.kind === 'updateClaims') applyPatch(state.destinationRule!, action.patch);
      else if (action.kind === 'setManagedRoutes') applyPatch(named(action.virtualService, action.namespace), action.patch);
      else if (action.kind === 'updateStatus') state.rollout.status = action.status;
      else return done;
      done.push(action);
    }
    throw new Error('no end to the route writes');
  }

  it('goes to the top of every listed VirtualService with weighted http routes, not to one with tcp routes only, and is recorded once in place', () => {
    const state = observed({
      spec: { trafficRouting: routing, steps: [{ setHeaderRoute: HEADER }, { pause: { duration: '1m' } }] },
      virtualService: named(), otherVirtualServices: [webEdge(), edge(0, null)],
    });
    const writes = settle(state).filter((action) => action.kind === 'setManagedRoutes');
    expect(writes.map((action) => action.kind === 'setManagedRoutes' && `${action.namespace ?? 'production'}/${action.virtualService}`)).toEqual(['production/payment-service-routing', 'gateways/web-edge']);
    const [web, tcp] = state.otherVirtualServices as VirtualService[];
    expect(web!.spec.http!.map((route) => route.name)).toEqual(['testers', 'api']);
    expect(web!.spec.http![0]!.route).toEqual([{ destination: { host: FQDN, subset: 'canary' }, weight: 100 }]);
    expect(tcp!.spec).toEqual(edge(0).spec);
    expect(state.virtualService!.spec.http!.map((route) => route.name)).toEqual(['testers', 'beta', 'primary']);
    expect(state.rollout.status?.managedRoutes?.map((route) => route.name)).toEqual(['testers']);
    expect(JSON.parse((web!.metadata.annotations as Record<string, string>)[CLAIMS_ANNOTATION]!)).toEqual({ 'http/api': 'production/payment-service', 'http/testers': 'production/payment-service' });

    // Deleted: the header routes leave both before anything else happens.
    state.rollout.metadata.deletionTimestamp = '2025-01-01T00:00:00.000Z';
    settle(state);
    expect(state.virtualService!.spec.http!.map((route) => route.name)).toEqual(['beta', 'primary']);
    expect(web!.spec.http!.map((route) => route.name)).toEqual(['api']);
  });
});

describe('claims on a VirtualService of another namespace', () => {
  const claimant = (trafficRouting: TrafficRouting) => rollout({ spec: { trafficRouting } });

  it.each<[string, TrafficRouting, string, boolean]>([
    ['its tcp route, while the Rollout lists the VirtualService with that port', LISTED, 'tcp/#0', true],
    ['a header route, which may go to any listed VirtualService', { ...LISTED, managedRoutes: [{ name: 'testers' }] }, 'http/testers', true],
    ['a route, once the Rollout lists the VirtualService no more', { ...LISTED, virtualServices: [LISTED.virtualServices![0]!] }, 'tcp/#0', false],
    ['a route, when the Rollout lists a VirtualService of that name in its own namespace', { ...LISTED, virtualServices: [LISTED.virtualServices![0]!, { name: 'edge' }] }, 'tcp/#0', false],
  ])('%s: stands %s', (_name, trafficRouting, key, stands) => {
    expect(claimStands(claimant(trafficRouting), 'virtualservices', edge(0), key)).toBe(stands);
  });
});
