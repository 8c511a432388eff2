// decide(): one owner per route (claims.ts), a Warning for every hold, and no canary scale-down
// without the delay, whatever the path.
import { applyPatch } from 'rfc6902';
import { describe, expect, it } from 'vitest';
import { CLAIMS_ANNOTATION, planClaims, readClaims } from '../../../src/rollout/routing/claims.ts';
import { decide } from '../../../src/rollout/decide.ts';
import { decisionEvent } from '../../../src/rollout/decision-events.ts';
import type { ObservedState } from '../../../src/rollout/observed.ts';
import type { Rollout } from '../../../src/rollout/types.ts';
import { as, runDecideTable, settle, withStatus } from './decide-table.ts';
import {
  DR_CLAIMS,
  REV_B,
  VS_CLAIMS,
  at,
  claimedBy,
  deployment,
  iso,
  observed,
  readyDestinationRule,
  rollout,
  rolloutStatus,
  seedVirtualService,
  unclaimed,
} from './fixtures.ts';

const CLAIMS_PATH = '/metadata/annotations/switchboard.dev~1managed-by-rollouts';

/** Another Rollout named `name`, on the same routing unless told otherwise. */
function other(name: string, spec: Partial<Rollout['spec']> = {}, metadata: Partial<Rollout['metadata']> = {}): Rollout {
  const built = rollout({ spec, metadata: { name, uid: `${name}-uid`, ...metadata } });
  return built;
}

const VS_BY_COPY = '{"http/#1":"payment-service-copy"}';
const DR_BY_COPY = '{"subset/canary":"payment-service-copy","subset/stable":"payment-service-copy"}';

describe('decide: one owner per route', () => {
  runDecideTable([
    {
      name: 'unclaimed routes are claimed before anything is written, silently, guarded by the version',
      observed: observed({ virtualService: unclaimed(seedVirtualService(0)), destinationRule: unclaimed(readyDestinationRule()) }),
      now: at(1),
      expected: {
        kind: 'updateClaims',
        plural: 'virtualservices',
        name: 'payment-service-routing',
        silent: true,
        patch: [
          { op: 'test', path: '/metadata/resourceVersion', value: '7' },
          { op: 'add', path: '/metadata/annotations', value: { [CLAIMS_ANNOTATION]: VS_CLAIMS } },
        ],
      },
    },
    {
      name: 'then the DestinationRule\'s two subsets',
      observed: observed({ destinationRule: unclaimed(readyDestinationRule()) }),
      now: at(1),
      expected: { kind: 'updateClaims', plural: 'destinationrules', patch: [{ op: 'test' }, { op: 'add', value: { [CLAIMS_ANNOTATION]: DR_CLAIMS } }] },
    },
    {
      name: 'a route another Rollout owns and still names: Degraded, told as a Warning, nothing written',
      observed: { ...observed({ virtualService: claimedBy(VS_BY_COPY, seedVirtualService(0)) }), claimants: { 'payment-service-copy': other('payment-service-copy') } },
      now: at(1),
      expected: { kind: 'updateStatus', reason: 'RouteOwnedByAnotherRollout', warning: true, status: { phase: 'Degraded' } },
      check: (action) => {
        expect(action.message).toContain('http route #1 is managed by Rollout payment-service-copy');
        expect(decisionEvent(undefined, action)).toMatchObject({ type: 'Warning', reason: 'RouteOwnedByAnotherRollout' });
        const condition = as(action, 'updateStatus').status.conditions?.find((c) => c.type === 'TrafficRoutingReady');
        expect(condition).toMatchObject({ status: 'False', reason: 'RouteOwnedByAnotherRollout' });
      },
    },
    {
      name: 'once the hold is in status it stops, writing nothing',
      observed: { ...observed({ virtualService: claimedBy(VS_BY_COPY, seedVirtualService(0)) }), claimants: { 'payment-service-copy': other('payment-service-copy') } },
      now: at(1),
      settle: true,
      expected: { kind: 'stop', reason: 'RouteOwnedByAnotherRollout' },
    },
    {
      name: 'a DestinationRule subset another Rollout owns holds just the same',
      observed: { ...observed({ destinationRule: claimedBy(DR_BY_COPY, readyDestinationRule()) }), claimants: { 'payment-service-copy': other('payment-service-copy') } },
      now: at(1),
      settle: true,
      expected: { kind: 'stop', reason: 'RouteOwnedByAnotherRollout' },
      check: (action) => expect(action.message).toContain('subset stable is managed by Rollout payment-service-copy'),
    },
    {
      name: 'an owner the shell has not looked up is taken to stand',
      observed: observed({ virtualService: claimedBy(VS_BY_COPY, seedVirtualService(0)) }),
      now: at(1),
      settle: true,
      expected: { kind: 'stop', reason: 'RouteOwnedByAnotherRollout' },
    },
    {
      name: 'an owner that no longer exists is taken over, guarded by the version, and told',
      observed: { ...observed({ virtualService: claimedBy(VS_BY_COPY, seedVirtualService(0)) }), claimants: { 'payment-service-copy': null } },
      now: at(1),
      expected: {
        kind: 'updateClaims',
        reason: 'RouteTakenOver',
        patch: [
          { op: 'test', path: '/metadata/resourceVersion', value: '7' },
          { op: 'add', path: CLAIMS_PATH, value: VS_CLAIMS },
        ],
      },
      check: (action) => expect(action).not.toHaveProperty('silent'),
    },
    {
      name: 'an owner that now names another VirtualService is taken over',
      observed: {
        ...observed({ virtualService: claimedBy(VS_BY_COPY, seedVirtualService(0)) }),
        claimants: { 'payment-service-copy': other('payment-service-copy', { trafficRouting: { host: 'payment-service', virtualService: { name: 'elsewhere' }, destinationRule: { name: 'payment-service-destination' } } }) },
      },
      now: at(1),
      expected: { kind: 'updateClaims', reason: 'RouteTakenOver' },
    },
    {
      name: 'an owner being deleted keeps its claim: it still sends traffic back to stable',
      observed: { ...observed({ virtualService: claimedBy(VS_BY_COPY, seedVirtualService(0)) }), claimants: { 'payment-service-copy': other('payment-service-copy', {}, { deletionTimestamp: iso(0) }) } },
      now: at(1),
      settle: true,
      expected: { kind: 'stop', reason: 'RouteOwnedByAnotherRollout' },
    },
    {
      name: 'a claim on a route the spec no longer names is let go in the same write that claims the new one',
      observed: observed({
        spec: { trafficRouting: { host: 'payment-service', virtualService: { name: 'payment-service-routing', routes: ['split'] }, destinationRule: { name: 'payment-service-destination' } } },
        virtualService: (() => {
          const vs = seedVirtualService(0);
          vs.spec.http![1]!.name = 'split';
          return vs;
        })(),
      }),
      now: at(1),
      expected: { kind: 'updateClaims', reason: 'RouteReleased', patch: [{ op: 'test' }, { op: 'add', path: CLAIMS_PATH, value: '{"http/split":"payment-service"}' }] },
    },
    {
      name: 'claims left on a VirtualService the spec no longer names are let go',
      observed: { ...observed(), formerClaims: [{ plural: 'virtualservices', object: { ...seedVirtualService(0), metadata: { ...seedVirtualService(0).metadata, name: 'old-routing', annotations: { [CLAIMS_ANNOTATION]: VS_CLAIMS } } } }] },
      now: at(1),
      expected: { kind: 'updateClaims', reason: 'RouteReleased', name: 'old-routing', patch: [{ op: 'test' }, { op: 'remove', path: CLAIMS_PATH }] },
    },
    {
      name: 'other Rollouts\' claims on other routes of the same VirtualService are kept',
      observed: observed({ virtualService: claimedBy('{"http/#0":"search","http/#1":"payment-service"}', seedVirtualService(0)) }),
      now: at(10),
      expected: { kind: 'setWeights', canaryWeight: 5, patch: expect.arrayContaining([{ op: 'test', path: CLAIMS_PATH, value: '{"http/#0":"search","http/#1":"payment-service"}' }]) },
    },
    {
      name: 'a copy being deleted leaves the owner\'s weights alone and lets go of nothing it does not hold',
      observed: {
        ...observed({ virtualService: claimedBy(VS_BY_COPY, seedVirtualService(20)), destinationRule: claimedBy(DR_BY_COPY, readyDestinationRule()), canaryDeployment: undefined, stableDeployment: undefined }),
        rollout: rollout({ metadata: { deletionTimestamp: iso(0) }, status: rolloutStatus() }),
        claimants: { 'payment-service-copy': other('payment-service-copy') },
      },
      now: at(1),
      expected: { kind: 'removeFinalizer' },
    },
  ]);

  it('every weight and subset write tests the claims as read', () => {
    const weights = as(decide(observed(), at(10)), 'setWeights');
    expect(weights.patch[0]).toEqual({ op: 'test', path: CLAIMS_PATH, value: VS_CLAIMS });
    const dr = readyDestinationRule();
    dr.spec.subsets = [dr.spec.subsets![0]!];
    const subsets = as(decide(observed({ destinationRule: dr }), at(10)), 'ensureSubsets');
    expect(subsets.patch[0]).toEqual({ op: 'test', path: CLAIMS_PATH, value: DR_CLAIMS });
  });

  it('two Rollouts racing for a free route: the second claim fails its test, then the loser holds', () => {
    const vs = unclaimed(seedVirtualService(0));
    const mine = planClaims(vs, 'virtualservices', 'payment-service', ['http/#1'], {});
    const theirs = planClaims(vs, 'virtualservices', 'payment-service-copy', ['http/#1'], {});
    if (!mine.ok || !theirs.ok) throw new Error('both plans should claim a free route');
    const won = structuredClone(vs);
    expect(applyPatch(won, structuredClone(mine.patch)).every((r) => r === null)).toBe(true);
    won.metadata.resourceVersion = '8';
    // The loser's patch was planned on version 7: the API server refuses it.
    expect(applyPatch(structuredClone(won), structuredClone(theirs.patch)).some((r) => r !== null)).toBe(true);
    const again = planClaims(won, 'virtualservices', 'payment-service-copy', ['http/#1'], { 'payment-service': rollout() });
    expect(again).toEqual({ ok: false, conflict: { key: 'http/#1', owner: 'payment-service' } });
  });

  it('an annotation a person mangled claims nothing', () => {
    expect(readClaims(claimedBy('not json', seedVirtualService()))).toEqual({});
    expect(readClaims(claimedBy('["a"]', seedVirtualService()))).toEqual({});
    expect(readClaims(claimedBy('{"http/#1":7,"http/#0":"a"}', seedVirtualService()))).toEqual({ 'http/#0': 'a' });
  });
});

describe('decide: every hold that needs a person is a Warning, once per cause', () => {
  const holds: { name: string; observed: ObservedState; reason: string }[] = [
    { name: 'VirtualService missing', observed: observed({ virtualService: undefined }), reason: 'VirtualServiceNotFound' },
    { name: 'DestinationRule missing', observed: observed({ destinationRule: undefined }), reason: 'DestinationRuleNotFound' },
    {
      name: 'DestinationRule for another host',
      observed: observed({ destinationRule: { ...readyDestinationRule(), spec: { ...readyDestinationRule().spec, host: 'other' } } }),
      reason: 'DestinationRuleHostMismatch',
    },
    {
      name: 'named route missing',
      observed: observed({ spec: { trafficRouting: { host: 'payment-service', virtualService: { name: 'payment-service-routing', routes: ['nope'] }, destinationRule: { name: 'payment-service-destination' } } } }),
      reason: 'RouteNotFound',
    },
    { name: 'invalid spec', observed: observed({ spec: { steps: [{ setWeight: 150 }] } }), reason: 'InvalidSpec' },
    {
      name: 'foreign Deployment',
      observed: observed({ canaryDeployment: { ...deployment('canary', { revision: REV_B, replicas: 1 }), metadata: { name: 'payment-service-canary', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Thing', name: 'x', uid: 'x', controller: true }] } } }),
      reason: 'DeploymentNotOwned',
    },
    {
      name: 'refused write',
      observed: { ...observed(), refusedWrite: { what: 'the creation of Deployment x', message: 'invalid', at: iso(0), generation: 1 } },
      reason: 'WriteRefused',
    },
    {
      name: 'write loop',
      observed: { ...observed(), writeLoop: { what: 'a weight change in VirtualService payment-service-routing', count: 4, windowSeconds: 60, writer: 'argocd-controller', at: iso(0), generation: 1 } },
      reason: 'WriteLoop',
    },
  ];
  for (const hold of holds) {
    it(`${hold.name}: ${hold.reason}`, () => {
      const action = as(decide(hold.observed, at(1)), 'updateStatus');
      expect(action.reason).toBe(hold.reason);
      expect(decisionEvent(hold.observed.rollout.status, action)).toMatchObject({ type: 'Warning', reason: hold.reason });
      // Written once: the next pass has nothing to tell.
      const next = decide(withStatus(hold.observed, action.status), at(2));
      expect(next.kind).not.toBe('updateStatus');
    });
  }

  it('the write loop names the other writer and waits for a spec change, or five minutes', () => {
    const looping: ObservedState = { ...observed(), writeLoop: { what: 'a weight change in VirtualService payment-service-routing', count: 4, windowSeconds: 60, writer: 'argocd-controller', at: iso(0), generation: 1 } };
    const action = settle(looping, at(1));
    expect(action).toMatchObject({ kind: 'wait', reason: 'WriteLoop', until: at(300) });
    expect(action.message).toContain('field manager argocd-controller');
    expect(decide({ ...looping, rollout: { ...looping.rollout, metadata: { ...looping.rollout.metadata, generation: 2 } } }, at(1)).reason).not.toBe('WriteLoop');
    // After a rollback traffic still goes back to stable.
    const rolledBack: ObservedState = { ...looping, ...observed({ virtualService: seedVirtualService(20), status: rolloutStatus({ canaryWeight: 20, rollback: { reason: 'Aborted', message: 'aborted', at: iso(0), revision: REV_B } }) }), writeLoop: looping.writeLoop! };
    expect(decide(rolledBack, at(1))).toMatchObject({ kind: 'setWeights', canaryWeight: 0 });
  });
});

describe('decide: no canary scale-down without the delay', () => {
  // A hand edit raised the weight to 60% (2 canary pods); the controller set it back to 5%.
  const shrunk = observed({ canaryDeployment: deployment('canary', { revision: REV_B, replicas: 2 }), virtualService: seedVirtualService(5), status: rolloutStatus({ canaryWeight: 5, weightChangedAt: iso(0) }) });

  it('fewer canary pods wait scaleDownDelaySeconds, then go, then the served delay leaves status', () => {
    const started = as(decide(shrunk, at(10)), 'updateStatus');
    expect(started).toMatchObject({ reason: 'ScaleDownDelayStarted', status: { canaryScaleDownAt: iso(40) } });
    const waiting = withStatus(shrunk, started.status);
    expect(decide(waiting, at(20))).toMatchObject({ kind: 'wait', reason: 'WaitingForScaleDownDelay', until: at(40) });
    expect(decide(waiting, at(40))).toMatchObject({ kind: 'updateDeployment', track: 'canary', replicas: 1 });
    const scaled = { ...waiting, canaryDeployment: deployment('canary', { revision: REV_B, replicas: 1 }) };
    const served = as(decide(scaled, at(41)), 'updateStatus');
    expect(served.status.canaryScaleDownAt).toBeUndefined();
  });

  it('the next shrink after a served delay waits a delay of its own', () => {
    const started = as(decide(shrunk, at(10)), 'updateStatus');
    const scaled = withStatus({ ...shrunk, canaryDeployment: deployment('canary', { revision: REV_B, replicas: 1 }) }, started.status);
    const served = withStatus(shrunk, as(decide(scaled, at(41)), 'updateStatus').status);
    expect(served.rollout.status?.canaryScaleDownAt).toBeUndefined();
    expect(decide(served, at(100))).toMatchObject({ kind: 'updateStatus', reason: 'ScaleDownDelayStarted', status: { canaryScaleDownAt: iso(130) } });
  });
});
