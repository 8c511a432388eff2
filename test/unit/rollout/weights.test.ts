import fc from 'fast-check';
import { applyPatch, type Operation } from 'rfc6902';
import { describe, expect, it } from 'vitest';
import { resolveTrafficRouting } from '../../../src/rollout/defaults.ts';
import type { HttpRoute, VirtualService } from '../../../src/rollout/types.ts';
import { buildWeightPatch, hostMatches, observedCanaryWeight, resolveManagedRoutes, type ManagedRoute } from '../../../src/rollout/routing/weights.ts';
import { seedVirtualService } from './fixtures.ts';

const routing = (routes: string[] = []) =>
  resolveTrafficRouting({ host: 'payment-service', virtualService: { name: 'payment-service-routing', routes }, destinationRule: { name: 'payment-service-destination' } });

function managed(vs: VirtualService, routes: string[] = []): ManagedRoute[] {
  const resolution = resolveManagedRoutes(vs, routing(routes), 'production');
  if (!resolution.ok) throw new Error(resolution.message);
  return resolution.routes;
}

function applied(vs: VirtualService, patch: Operation[]): VirtualService {
  const copy = structuredClone(vs);
  expect(applyPatch(copy, patch)).toEqual(patch.map(() => null));
  return copy;
}

function vsWith(http: HttpRoute[]): VirtualService {
  return { metadata: { name: 'payment-service-routing' }, spec: { hosts: ['payment-service'], http } };
}

describe('managed routes', () => {
  it('with no route named, the seed VirtualService manages only the 95/5 split, not the beta-user route', () => {
    const routes = managed(seedVirtualService(5));
    expect(routes.map((route) => route.index)).toEqual([1]);
    expect(observedCanaryWeight(routes)).toBe(5);
  });

  it('a named route that does not exist is reported with the names that do', () => {
    const vs = vsWith([{ name: 'primary', route: [{ destination: { host: 'payment-service', subset: 'stable' } }] }]);
    expect(resolveManagedRoutes(vs, routing(['main']), 'production')).toEqual({
      ok: false,
      reason: 'RouteNotFound',
      message: expect.stringContaining('no http route named "main" (named routes: primary)'),
    });
  });

  it('a managed route that also sends elsewhere is refused: weights could not sum to 100', () => {
    const vs = vsWith([
      {
        route: [
          { destination: { host: 'payment-service', subset: 'stable' }, weight: 80 },
          { destination: { host: 'payment-service', subset: 'canary' }, weight: 10 },
          { destination: { host: 'payment-service', subset: 'legacy' }, weight: 10 },
        ],
      },
    ]);
    expect(resolveManagedRoutes(vs, routing(), 'production')).toMatchObject({ ok: false, reason: 'UnsupportedRoute' });
  });

  it('no route to both subsets is reported', () => {
    const vs = vsWith([{ route: [{ destination: { host: 'payment-service', subset: 'stable' } }] }]);
    expect(resolveManagedRoutes(vs, routing(), 'production')).toMatchObject({ ok: false, reason: 'NoManagedRoutes' });
  });

  it.each([
    ['payment-service', 'payment-service', true],
    ['payment-service.production', 'payment-service', true],
    ['payment-service.production.svc.cluster.local', 'payment-service', true],
    ['payment-service', 'payment-service.production.svc.cluster.local', true],
    ['payment-service.staging.svc.cluster.local', 'payment-service', false],
    ['payment', 'payment-service', false],
  ])('host %s matches %s in namespace production: %s', (written, host, expected) => {
    expect(hostMatches(written, host, 'production')).toBe(expected);
  });

  it('observed weight: a lone destination without weight is 100%, disagreeing routes have no single weight', () => {
    const lone = vsWith([{ name: 'a', route: [{ destination: { host: 'payment-service', subset: 'stable' } }] }]);
    expect(observedCanaryWeight(managed(lone, ['a']))).toBe(0);
    const split = (canary: number): HttpRoute => ({
      route: [
        { destination: { host: 'payment-service', subset: 'stable' }, weight: 100 - canary },
        { destination: { host: 'payment-service', subset: 'canary' }, weight: canary },
      ],
    });
    expect(observedCanaryWeight(managed(vsWith([split(5), split(25)])))).toBeUndefined();
    const broken = vsWith([{ route: [{ destination: { host: 'payment-service', subset: 'stable' }, weight: 50 }, { destination: { host: 'payment-service', subset: 'canary' }, weight: 10 }] }]);
    expect(observedCanaryWeight(managed(broken))).toBeUndefined();
  });
});

describe('weight patch', () => {
  it('seed VirtualService to 25%: guarded weights of route 1 only; match, fault and retries untouched', () => {
    const vs = seedVirtualService(5);
    const patch = buildWeightPatch(managed(vs), routing(), 25);
    expect(patch).toEqual([
      { op: 'test', path: '/spec/http/1/route/0/destination/subset', value: 'stable' },
      { op: 'test', path: '/spec/http/1/route/0/weight', value: 95 },
      { op: 'replace', path: '/spec/http/1/route/0/weight', value: 75 },
      { op: 'test', path: '/spec/http/1/route/1/destination/subset', value: 'canary' },
      { op: 'test', path: '/spec/http/1/route/1/weight', value: 5 },
      { op: 'replace', path: '/spec/http/1/route/1/weight', value: 25 },
    ]);
    const expected = seedVirtualService(25);
    expect(applied(vs, patch)).toEqual(expected);
  });

  it('the patch fails as a whole when another writer changed a weight or reordered destinations', () => {
    const vs = seedVirtualService(5);
    const patch = buildWeightPatch(managed(vs), routing(), 25);
    const edited = seedVirtualService(10);
    expect(applyPatch(structuredClone(edited), patch).some((error) => error !== null)).toBe(true);
    const reordered = seedVirtualService(5);
    reordered.spec.http?.[1]?.route?.reverse();
    expect(applyPatch(structuredClone(reordered), patch).some((error) => error !== null)).toBe(true);
  });

  it('a weight already right is not written', () => {
    const vs = seedVirtualService(5);
    expect(buildWeightPatch(managed(vs), routing(), 5)).toEqual([]);
  });

  it('a named route without a canary destination gets one (port kept), guarded by the route name and destination list', () => {
    const primary: HttpRoute = {
      name: 'primary',
      timeout: '3s',
      route: [{ destination: { host: 'payment-service', subset: 'stable', port: { number: 8080 } } }],
    };
    const vs = vsWith([{ name: 'other', route: [{ destination: { host: 'ledger' } }] }, primary]);
    const patch = buildWeightPatch(managed(vs, ['primary']), routing(['primary']), 10);
    expect(patch).toEqual([
      { op: 'test', path: '/spec/http/1/name', value: 'primary' },
      { op: 'test', path: '/spec/http/1/route', value: primary.route },
      { op: 'test', path: '/spec/http/1/route/0/destination/subset', value: 'stable' },
      { op: 'add', path: '/spec/http/1/route/0/weight', value: 90 },
      { op: 'add', path: '/spec/http/1/route/-', value: { destination: { host: 'payment-service', subset: 'canary', port: { number: 8080 } }, weight: 10 } },
    ]);
    const result = applied(vs, patch);
    expect(result.spec.http?.[1]).toEqual({
      name: 'primary',
      timeout: '3s',
      route: [
        { destination: { host: 'payment-service', subset: 'stable', port: { number: 8080 } }, weight: 90 },
        { destination: { host: 'payment-service', subset: 'canary', port: { number: 8080 } }, weight: 10 },
      ],
    });
    expect(result.spec.http?.[0]).toEqual(vs.spec.http?.[0]);
  });

  it('weight 0 on a route without canary destination adds nothing', () => {
    const vs = vsWith([{ name: 'primary', route: [{ destination: { host: 'payment-service', subset: 'stable' } }] }]);
    expect(buildWeightPatch(managed(vs, ['primary']), routing(['primary']), 0)).toEqual([]);
  });

  it('every managed route gets the same split', () => {
    const split: HttpRoute = {
      route: [
        { destination: { host: 'payment-service', subset: 'stable' }, weight: 100 },
        { destination: { host: 'payment-service', subset: 'canary' }, weight: 0 },
      ],
    };
    const vs = vsWith([{ ...structuredClone(split), match: [{ uri: { prefix: '/api' } }] }, structuredClone(split)]);
    const result = applied(vs, buildWeightPatch(managed(vs), routing(), 50));
    expect(observedCanaryWeight(managed(result))).toBe(50);
    expect(result.spec.http?.[0]?.match).toEqual([{ uri: { prefix: '/api' } }]);
  });

  it('for any weight, the seed split becomes exactly that weight and 100 minus it, nothing else changes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 100 }), (from, to) => {
        const vs = seedVirtualService(from);
        const result = applied(vs, buildWeightPatch(managed(vs), routing(), to));
        expect(result).toEqual(seedVirtualService(to));
      }),
    );
  });
});
