// Header and mirror routes (setHeaderRoute, setMirrorRoute): which routes each step leaves in
// place, the Istio routes built for them, the guarded patch that puts them at the top of the
// user's VirtualService, and whole rollouts through decide() that add them, move their weights and
// take them away again on promotion, abort and deletion without touching the user's routes.
import { describe, expect, it } from 'vitest';
import { ABORT_ANNOTATION } from '../../../src/rollout/commands.ts';
import { decide } from '../../../src/rollout/decide.ts';
import { resolveSpec } from '../../../src/rollout/defaults.ts';
import { istioRoute, planManagedRoutes, routesAtStep } from '../../../src/rollout/routing/managed-routes.ts';
import { validateRollout } from '../../../src/rollout/validate.ts';
import type { HttpRoute, Rollout, RolloutStep, VirtualService } from '../../../src/rollout/types.ts';
import { CLAIMS_ANNOTATION } from '../../../src/rollout/routing/claims.ts';
import { applyPatch } from 'rfc6902';
import { REV_A, REV_B, TEMPLATE_A, TEMPLATE_B, T0, at, observed, rollout, rolloutStatus, seedDestinationRule, seedVirtualService } from './fixtures.ts';
import { Simulation, fakeProvider } from './simulation.ts';

const HEADER = { name: 'testers', match: [{ headerName: 'x-canary', headerValue: { exact: 'yes' } }] };
const MIRROR = { name: 'shadow', percentage: 20, match: [{ method: { exact: 'GET' }, path: { prefix: '/api' } }] };
const ORDER = ['testers', 'shadow'];

/** The seed VirtualService with its two routes named, as header and mirror routes need. */
function namedVirtualService(canaryWeight = 0): VirtualService {
  const vs = structuredClone(seedVirtualService(canaryWeight));
  vs.spec.http![0]!.name = 'beta';
  vs.spec.http![1]!.name = 'primary';
  vs.metadata.annotations = {};
  return vs;
}

const STEPS: RolloutStep[] = [
  { setHeaderRoute: HEADER },
  { pause: { duration: '1m' } },
  { setMirrorRoute: MIRROR },
  { setWeight: 20 },
  { setHeaderRoute: { name: 'testers' } },
  { setWeight: 50 },
];

function spec(steps = STEPS): Partial<Rollout['spec']> {
  return {
    steps,
    trafficRouting: {
      host: 'payment-service',
      virtualService: { name: 'payment-service-routing', routes: ['primary'] },
      destinationRule: { name: 'payment-service-destination', stableSubset: 'stable', canarySubset: 'canary' },
      managedRoutes: ORDER.map((name) => ({ name })),
    },
  };
}

describe('routesAtStep', () => {
  it.each([
    [0, ['Header testers']],
    [1, ['Header testers']],
    [2, ['Header testers', 'Mirror shadow']],
    [4, ['Mirror shadow']],
    [5, ['Mirror shadow']],
  ])('after step %i: %j', (stepIndex, expected) => {
    expect(routesAtStep(STEPS, stepIndex, ORDER).map((route) => `${route.type} ${route.name}`)).toEqual(expected);
  });

  it('orders by managedRoutes, not by the step that set them, and a later step replaces the match', () => {
    const steps: RolloutStep[] = [{ setMirrorRoute: MIRROR }, { setHeaderRoute: HEADER }, { setHeaderRoute: { ...HEADER, match: [{ headerName: 'x-b', headerValue: { prefix: 'q' } }] } }];
    const routes = routesAtStep(steps, 2, ORDER);
    expect(routes.map((route) => route.name)).toEqual(['testers', 'shadow']);
    expect(routes[0]?.match).toEqual([{ headerName: 'x-b', headerValue: { prefix: 'q' } }]);
    expect(routes[1]?.percentage).toBe(20);
  });

  it('a mirror route without percentage copies every matching request', () => {
    expect(routesAtStep([{ setMirrorRoute: { name: 'shadow', match: [{}] } }], 0, ORDER)[0]?.percentage).toBe(100);
  });
});

describe('istioRoute', () => {
  const destinations = {
    stable: { host: 'payment-service', subset: 'stable', port: { number: 8080 } },
    canary: { host: 'payment-service', subset: 'canary', port: { number: 8080 } },
  };

  it('a header route sends its matches to the canary only, each entry an alternative', () => {
    const [route] = routesAtStep([{ setHeaderRoute: { name: 'testers', match: [...HEADER.match, { headerName: 'cookie', headerValue: { regex: '.*beta=1.*' } }] } }], 0, ORDER);
    expect(istioRoute(route!, destinations, 30)).toEqual({
      name: 'testers',
      match: [{ headers: { 'x-canary': { exact: 'yes' } } }, { headers: { cookie: { regex: '.*beta=1.*' } } }],
      route: [{ destination: destinations.canary, weight: 100 }],
    });
  });

  it('a mirror route splits like the weighted routes and copies its percentage to the canary', () => {
    const [route] = routesAtStep([{ setMirrorRoute: { ...MIRROR, match: [{ ...MIRROR.match[0], headers: { 'x-env': { exact: 'prod' } } }] } }], 0, ORDER);
    expect(istioRoute(route!, destinations, 30)).toEqual({
      name: 'shadow',
      match: [{ method: { exact: 'GET' }, uri: { prefix: '/api' }, headers: { 'x-env': { exact: 'prod' } } }],
      route: [{ destination: destinations.stable, weight: 70 }, { destination: destinations.canary, weight: 30 }],
      mirror: destinations.canary,
      mirrorPercentage: { value: 20 },
    });
  });
});

describe('planManagedRoutes', () => {
  const header: HttpRoute = { name: 'testers', match: [{ headers: { 'x-canary': { exact: 'yes' } } }], route: [{ destination: { host: 'payment-service', subset: 'canary' }, weight: 100 }] };
  const ours = (name: string) => name === 'testers';
  const apply = (vs: VirtualService, patch: ReturnType<typeof planManagedRoutes>) => {
    const copy = structuredClone(vs);
    expect(applyPatch(copy, structuredClone(patch)).every((result) => result === null)).toBe(true);
    return copy;
  };

  it('inserts at the top, guarded by the resourceVersion (every index below moves)', () => {
    const vs = namedVirtualService(5);
    const patch = planManagedRoutes(vs, [header], ours);
    expect(patch[0]).toEqual({ op: 'test', path: '/metadata/resourceVersion', value: '7' });
    const after = apply(vs, patch);
    expect(after.spec.http?.map((route) => route.name)).toEqual(['testers', 'beta', 'primary']);
    expect(after.spec.http?.slice(1)).toEqual(vs.spec.http);
    expect(planManagedRoutes(after, [header], ours)).toEqual([]);
  });

  it('removes only routes of ours, and one moved below the user\'s is put back on top', () => {
    const vs = namedVirtualService(5);
    vs.spec.http = [...vs.spec.http!, header];
    const after = apply(vs, planManagedRoutes(vs, [header], ours));
    expect(after.spec.http?.map((route) => route.name)).toEqual(['testers', 'beta', 'primary']);
    const removed = apply(after, planManagedRoutes(after, [], ours));
    expect(removed.spec.http).toEqual(namedVirtualService(5).spec.http);
    // A route of the user's with the same name is not ours: never removed.
    expect(planManagedRoutes(after, [], () => false)).toEqual([]);
  });

  it('a mirror route whose weights moved with the weighted routes is left as it is', () => {
    const [mirror] = routesAtStep([{ setMirrorRoute: MIRROR }], 0, ORDER);
    const destinations = { stable: { host: 'payment-service', subset: 'stable' }, canary: { host: 'payment-service', subset: 'canary' } };
    const vs = namedVirtualService(5);
    vs.spec.http = [istioRoute(mirror!, destinations, 5), ...vs.spec.http!];
    expect(planManagedRoutes(vs, [istioRoute(mirror!, destinations, 40)], (name) => name === 'shadow')).toEqual([]);
  });
});

describe('validation of header and mirror steps', () => {
  const problems = (change: Partial<Rollout['spec']>) => {
    const built = rollout({ spec: { ...spec(), ...change } });
    return validateRollout(built, resolveSpec(built));
  };

  it('accepts the steps above', () => {
    expect(problems({})).toEqual([]);
  });

  it.each([
    ['a route not in managedRoutes', { steps: [{ setHeaderRoute: { ...HEADER, name: 'other' } }] }, 'not in spec.trafficRouting.managedRoutes'],
    ['two kinds of step in one', { steps: [{ setWeight: 5, setHeaderRoute: HEADER } as unknown as RolloutStep] }, 'exactly one of setWeight, pause, setHeaderRoute, setMirrorRoute or setCanaryScale'],
    ['a header value of two kinds', { steps: [{ setHeaderRoute: { name: 'testers', match: [{ headerName: 'a', headerValue: { exact: 'x', prefix: 'y' } }] } }] }, 'exactly one of exact, prefix or regex'],
    ['one name as header and mirror', { steps: [{ setHeaderRoute: { ...HEADER, name: 'shadow' } }, { setMirrorRoute: MIRROR }] }, 'both a header and a mirror route'],
    ['a percentage past 100', { steps: [{ setMirrorRoute: { ...MIRROR, percentage: 120 } }] }, 'percentage 120'],
  ])('refuses %s', (_name, change, message) => {
    expect(problems(change as Partial<Rollout['spec']>).join('\n')).toContain(message);
  });
});

describe('decide with header and mirror routes', () => {
  const progressing = rolloutStatus({ canaryRevision: REV_B, stableRevision: REV_A, currentStepIndex: 0, canaryWeight: 0 });

  it('a route of the user\'s that carries a managed name stops the Rollout instead of being replaced', () => {
    const vs = namedVirtualService();
    vs.spec.http![0]!.name = 'testers';
    const action = decide(observed({ spec: spec(), status: progressing, virtualService: vs }), at(1));
    expect(action).toMatchObject({ kind: 'updateStatus', reason: 'ManagedRouteNameTaken', status: { phase: 'Degraded' } });
    expect(action.message).toContain('already has an http route named "testers"');
  });

  it('an unnamed managed route stops the Rollout: inserting above it would move it', () => {
    const vs = namedVirtualService();
    delete vs.spec.http![1]!.name;
    const unnamed = { ...spec(), trafficRouting: { ...spec().trafficRouting!, virtualService: { name: 'payment-service-routing', routes: [] } } };
    const action = decide(observed({ spec: unnamed, status: progressing, virtualService: vs }), at(1));
    expect(action).toMatchObject({ kind: 'updateStatus', reason: 'UnnamedRoute', status: { phase: 'Degraded' } });
    expect(action.message).toContain('http route #1 has no name');
  });

  it('the header route waits for the canary pods, then is claimed and written', () => {
    const vs = namedVirtualService();
    const notReady = observed({ spec: spec(), status: progressing, virtualService: vs });
    notReady.canaryDeployment!.status!.availableReplicas = 0;
    const first = decide(notReady, at(1));
    expect(first.kind).toBe('updateClaims');
    const claimed = { ...vs, metadata: { ...vs.metadata, annotations: { [CLAIMS_ANNOTATION]: '{"http/primary":"payment-service","http/testers":"payment-service"}' } } };
    notReady.virtualService = claimed;
    expect(decide(notReady, at(1))).not.toMatchObject({ kind: 'setManagedRoutes' });
    const ready = observed({ spec: spec(), status: progressing, virtualService: claimed });
    expect(decide(ready, at(1))).toMatchObject({ kind: 'setManagedRoutes', reason: 'ManagedRoutesSet', routes: ['testers'] });
  });
});

describe('analysis with header and mirror routes', () => {
  const analysed = (stepIndex: number, weight: number, steps = STEPS) => {
    const vs = namedVirtualService(weight);
    const routes = routesAtStep(steps, stepIndex, ORDER);
    const destinations = { stable: { host: 'payment-service', subset: 'stable' }, canary: { host: 'payment-service', subset: 'canary' } };
    vs.spec.http = [...routes.map((route) => istioRoute(route, destinations, weight)), ...vs.spec.http!];
    vs.metadata.annotations = { [CLAIMS_ANNOTATION]: JSON.stringify(Object.fromEntries(['primary', ...routes.map((r) => r.name)].map((n) => [`http/${n}`, 'payment-service']))) };
    const status = rolloutStatus({
      canaryRevision: REV_B, stableRevision: REV_A, currentStepIndex: stepIndex, canaryWeight: weight, stepStartedAt: at(0).toISOString(), weightChangedAt: at(0).toISOString(), managedRoutes: routes,
    });
    return decide(observed({ spec: spec(steps), status, virtualService: vs }), at(120));
  };

  it('a header route at weight 0 sends testers to the canary: their requests are analysed', () => {
    expect(analysed(1, 0)).toMatchObject({ kind: 'runAnalysis' });
  });

  it('mirrored copies alone are not judged: at weight 0 with only a mirror route no round runs', () => {
    const mirrorOnly: RolloutStep[] = [{ setMirrorRoute: MIRROR }, { pause: { duration: '5m' } }, { setWeight: 20 }];
    const mirrored = analysed(1, 0, mirrorOnly);
    expect(mirrored.kind).not.toBe('runAnalysis');
    expect(mirrored.message).toContain('pausing until');
    const headerOnly: RolloutStep[] = [{ setHeaderRoute: HEADER }, { pause: { duration: '5m' } }, { setWeight: 20 }];
    expect(analysed(1, 0, headerOnly)).toMatchObject({ kind: 'runAnalysis' });
  });

  it('while a mirror route is in place the error rate reads the callers\' proxies only (they never report the copies)', () => {
    const action = analysed(2, 0);
    expect(action.kind).toBe('runAnalysis');
    const plan = action.kind === 'runAnalysis' ? action.plan : undefined;
    const errorRate = plan?.checks.find((check) => check.name === 'error-rate');
    expect(errorRate && 'query' in errorRate ? errorRate.query : '').not.toContain('reporter="destination"');
    expect(plan?.requestCountQuery).not.toContain('reporter="destination"');
  });
});

describe('simulated rollouts with header and mirror routes', () => {
  function simulation(canaryErrorRate = 0.1): Simulation {
    const initial = rollout({ spec: { ...spec(), template: TEMPLATE_A }, metadata: { finalizers: undefined } });
    return new Simulation({ now: T0, rollout: initial, virtualService: namedVirtualService(0), destinationRule: seedDestinationRule(), provider: fakeProvider(canaryErrorRate) });
  }
  const names = (sim: Simulation) => sim.virtualService?.spec.http?.map((route) => route.name);
  const userRoutes = (sim: Simulation) => sim.virtualService?.spec.http?.filter((route) => route.name === 'beta' || route.name === 'primary').map((route) => {
    const { route: _destinations, ...rest } = route;
    return rest;
  });
  const originalUserRoutes = namedVirtualService(0).spec.http!.map(({ route: _destinations, ...rest }) => rest);

  async function started(): Promise<Simulation> {
    const sim = simulation();
    await sim.runUntil((s) => s.rollout.status?.phase === 'Healthy' && s.rollout.status.stableRevision === REV_A);
    sim.editSpec({ template: TEMPLATE_B });
    return sim;
  }

  it('adds each route at its step, moves the mirror route\'s weights with the others, and takes all away on promotion', async () => {
    const sim = await started();
    const seen = new Set<string>();
    await sim.runUntil((s) => {
      seen.add(JSON.stringify(names(s)));
      return s.rollout.status?.phase === 'Healthy' && s.rollout.status.stableRevision === REV_B;
    }, 800);
    expect(sim.rollout.status?.stableRevision).toBe(REV_B);
    expect([...seen]).toEqual(expect.arrayContaining([
      JSON.stringify(['testers', 'beta', 'primary']),
      JSON.stringify(['testers', 'shadow', 'beta', 'primary']),
      JSON.stringify(['shadow', 'beta', 'primary']),
    ]));
    expect(names(sim)).toEqual(['beta', 'primary']);
    expect(userRoutes(sim)).toEqual(originalUserRoutes);
    expect(sim.rollout.status?.managedRoutes).toBeUndefined();
    // The routes went before the weights moved back and before the canary was scaled down.
    const kinds = sim.appliedKinds();
    const lastRoutes = kinds.lastIndexOf('setManagedRoutes');
    expect(lastRoutes).toBeLessThan(kinds.lastIndexOf('setWeights(0)'));
  });

  it('the mirror route\'s weights follow every weight change', async () => {
    const sim = await started();
    await sim.runUntil((s) => s.rollout.status?.canaryWeight === 20);
    const mirror = sim.virtualService?.spec.http?.find((route) => route.name === 'shadow');
    expect(mirror?.route?.map((entry) => entry.weight)).toEqual([80, 20]);
    expect(mirror?.mirrorPercentage).toEqual({ value: 20 });
  });

  it('abort takes the header route away before weights and pods move', async () => {
    const sim = await started();
    await sim.runUntil((s) => (s.rollout.status?.managedRoutes ?? []).length > 0);
    expect(names(sim)).toEqual(['testers', 'beta', 'primary']);
    const before = sim.applied.length;
    sim.annotate(ABORT_ANNOTATION, 'token-1');
    await sim.runUntil((s) => s.rollout.status?.phase === 'Aborted' && (s.canary?.spec?.replicas ?? 0) === 0, 200);
    const after = sim.applied.slice(before).map(({ action }) => action.kind);
    expect(after.indexOf('setManagedRoutes')).toBeGreaterThanOrEqual(0);
    expect(after.indexOf('setManagedRoutes')).toBeLessThan(after.indexOf('updateDeployment'));
    expect(names(sim)).toEqual(['beta', 'primary']);
    expect(userRoutes(sim)).toEqual(originalUserRoutes);
  });

  it('deleting the Rollout mid-step removes its routes before the finalizer goes', async () => {
    const sim = await started();
    await sim.runUntil((s) => (s.rollout.status?.managedRoutes ?? []).length === 2);
    sim.delete();
    await sim.runUntil((s) => (s.rollout.metadata.finalizers ?? []).length === 0, 200);
    expect(names(sim)).toEqual(['beta', 'primary']);
    expect(JSON.parse((sim.virtualService?.metadata.annotations as Record<string, string> | undefined)?.[CLAIMS_ANNOTATION] ?? '{}')).toEqual({});
  });
});
