// The dashboard's pages as functions of the watched objects: the history it records, pods by
// revision and role, the rollout's Events, and the VirtualService's routes as Switchboard manages them.
import type { CoreV1Event, V1Deployment, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { rolloutStatusView } from '../../../src/cli/rollouts/rollout-view.ts';
import type { Rollout, RolloutStatus, VirtualService } from '../../../src/rollout/types.ts';
import {
  EMPTY_HISTORY, HISTORY_LIMIT, eventViews, podGroups, recordHistory, rolloutDetail, rolloutListView, trackDeployments, virtualServiceRefs, virtualServiceView,
  type RolloutHistory,
} from '../../../src/dashboard/views.ts';
import { at, iso, REV_A, REV_B, rollout } from '../rollout/fixtures.ts';
import { BOTH_DEPLOYMENTS, trackDeployment } from '../cli/status-fixtures.ts';

const withStatus = (status: RolloutStatus) => rollout({ status });

describe('recordHistory', () => {
  const round = (seconds: number, value: number): RolloutStatus['analysis'] => ({
    passedChecks: 1, failedChecks: 0, inconclusiveChecks: 0, erroredChecks: 0, lastRunAt: iso(seconds),
    last: [{ name: 'error-rate', verdict: 'pass', value, limit: 5, at: iso(seconds), message: 'ok' }],
  });
  it.each<[string, RolloutStatus[], { points: [number, string | undefined][]; rounds: number[] }]>([
    ['a rollout without status: one point at weight 0', [{}], { points: [[0, undefined]], rounds: [] }],
    ['the same state twice: one point', [{ canaryWeight: 20, step: '1/4' }, { canaryWeight: 20, step: '1/4' }], { points: [[20, '1/4']], rounds: [] }],
    ['weight then step changes: a point each', [{ canaryWeight: 20, step: '1/4' }, { canaryWeight: 50, step: '1/4' }, { canaryWeight: 50, step: '2/4' }],
      { points: [[20, '1/4'], [50, '1/4'], [50, '2/4']], rounds: [] }],
    ['a round seen twice: recorded once', [{ canaryWeight: 20, analysis: round(10, 1) }, { canaryWeight: 20, analysis: round(10, 1) }, { canaryWeight: 20, analysis: round(20, 2) }],
      { points: [[20, undefined]], rounds: [1, 2] }],
  ])('%s', (_name, statuses, expected) => {
    let history: RolloutHistory = EMPTY_HISTORY;
    statuses.forEach((status, index) => { history = recordHistory(history, withStatus(status), at(index)); });
    expect(history.points.map((point) => [point.weight, point.step])).toEqual(expected.points);
    expect(history.rounds.map((r) => r.results[0]?.value)).toEqual(expected.rounds);
  });

  it('returns the same object when nothing is new, so the caller pushes nothing', () => {
    const once = recordHistory(EMPTY_HISTORY, withStatus({ canaryWeight: 5 }), at(0));
    expect(recordHistory(once, withStatus({ canaryWeight: 5 }), at(1))).toBe(once);
  });

  it(`keeps the last ${HISTORY_LIMIT} points`, () => {
    let history: RolloutHistory = EMPTY_HISTORY;
    for (let i = 0; i <= HISTORY_LIMIT; i++) history = recordHistory(history, withStatus({ canaryWeight: i % 2 === 0 ? 0 : 10, step: String(i) }), at(i));
    expect(history.points).toHaveLength(HISTORY_LIMIT);
    expect(history.points[0]?.step).toBe('1');
  });
});

const pod = (name: string, owner: string, ready: boolean, restarts = 0): V1Pod => ({
  metadata: { name, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: owner, uid: owner }] },
  status: { phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }], containerStatuses: [{ name: 'c', image: 'i', imageID: '', ready, restartCount: restarts }] },
});

describe('podGroups', () => {
  it('groups pods by the Deployment their ReplicaSet belongs to, with the revision it runs', () => {
    const [stable, canary] = [`payment-service-${REV_A}`, `payment-service-${REV_B}`];
    const named = (deployment: V1Deployment, name: string): V1Deployment => ({ ...deployment, metadata: { ...deployment.metadata, name } });
    const deployments = { stable: named(BOTH_DEPLOYMENTS.stable!, stable), canary: named(BOTH_DEPLOYMENTS.canary!, canary) };
    const pods = [
      pod(`${stable}-abc-2`, `${stable}-abc`, true),
      pod(`${canary}-def-1`, `${canary}-def`, false, 3),
      pod(`${stable}-abc-1`, `${stable}-abc`, true),
      pod(`${stable}x-1`, `${stable}x-abc`, true),
      pod('other-stable-1', 'other-stable-abc', true),
    ];
    expect(podGroups(pods, deployments)).toEqual([
      { role: 'stable', revision: REV_A, pods: [
        { name: `${stable}-abc-1`, phase: 'Running', ready: true, restarts: 0 },
        { name: `${stable}-abc-2`, phase: 'Running', ready: true, restarts: 0 },
      ] },
      { role: 'canary', revision: REV_B, pods: [{ name: `${canary}-def-1`, phase: 'Running', ready: false, restarts: 3 }] },
    ]);
    expect(podGroups(pods, { stable: undefined, canary: undefined }).map((group) => group.pods)).toEqual([[], []]);
  });
});

const event = (name: string, reason: string, seconds: number, uid = 'uid-1', type = 'Normal'): CoreV1Event => ({
  metadata: {}, involvedObject: { kind: 'Rollout', name, uid }, reason, message: `${reason} happened`, type, lastTimestamp: at(seconds), count: 1,
});

describe('eventViews', () => {
  it("shows this rollout's Events, newest first, not an earlier rollout's of the same name", () => {
    const events = [event('payment-service', 'StepReached', 10), event('payment-service', 'AnalysisFailed', 20, 'uid-1', 'Warning'),
      event('payment-service', 'Old', 30, 'uid-0'), event('search', 'StepReached', 40)];
    expect(eventViews(rollout(), events).map((view) => [view.reason, view.type, view.lastSeen])).toEqual([
      ['AnalysisFailed', 'Warning', iso(20)], ['StepReached', 'Normal', iso(10)],
    ]);
  });
});

describe('virtualServiceView', () => {
  const vs = (http: VirtualService['spec']['http'], claims?: Record<string, string>): VirtualService => ({
    metadata: { name: 'payment-service-routing', ...(claims === undefined ? {} : { annotations: { 'switchboard.dev/managed-by-rollouts': JSON.stringify(claims) } }) },
    spec: { http },
  });
  const split = (canary: number) => [{ destination: { host: 'payment-service', subset: 'stable' }, weight: 100 - canary }, { destination: { host: 'payment-service', subset: 'canary' }, weight: canary }];
  const stepRoutes: RolloutStatus = { managedRoutes: [{ name: 'beta', type: 'Header', match: [{ headerName: 'x-beta', headerValue: { exact: 'on' } }] }] };

  it.each<[string, Rollout, VirtualService | undefined, unknown]>([
    ['not watched: its name only', rollout(), undefined, { name: 'payment-service-routing', namespace: 'production' }],
    ['the weighted route claimed by this rollout, a lone destination at 100', rollout(), vs([{ name: 'primary', route: split(20) }, { route: [{ destination: { host: 'payment-service', subset: 'stable' } }] }], { 'http/primary': 'payment-service' }), {
      name: 'payment-service-routing',
      namespace: 'production',
      routes: [
        { name: 'primary', owner: 'payment-service', match: false, destinations: [{ host: 'payment-service', subset: 'stable', weight: 80 }, { host: 'payment-service', subset: 'canary', weight: 20 }] },
        { name: '#1', match: false, destinations: [{ host: 'payment-service', subset: 'stable', weight: 100 }] },
      ],
    }],
    ["a step's header route above an unnamed route claimed by index", rollout({ status: stepRoutes }),
      vs([{ name: 'beta', match: [{ headers: {} }], route: split(100) }, { route: split(0), mirror: { host: 'payment-service', subset: 'canary' }, mirrorPercentage: { value: 5 } }], { 'http/#1': 'payment-service' }), {
        name: 'payment-service-routing',
        namespace: 'production',
        routes: [
          { name: 'beta', stepRoute: 'Header', match: true, destinations: split(100).map((d) => ({ host: d.destination.host, subset: d.destination.subset, weight: d.weight })) },
          { name: '#1', owner: 'payment-service', match: false, destinations: split(0).map((d) => ({ host: d.destination.host, subset: d.destination.subset, weight: d.weight })), mirror: { subset: 'canary', percentage: 5 } },
        ],
      }],
  ])('%s', (_name, subject, virtualService, expected) => {
    expect(virtualServiceView(subject, { name: 'payment-service-routing', namespace: 'production' }, virtualService)).toEqual(expected);
  });

  it('one per listed VirtualService, each in its own namespace', () => {
    const listed = rollout({ spec: { trafficRouting: {
      host: 'payment-service', destinationRule: { name: 'payment-service-destination' },
      virtualServices: [{ name: 'payment-service-routing' }, { name: 'edge', namespace: 'gateways' }],
    } } });
    expect(virtualServiceRefs(listed)).toEqual([{ name: 'payment-service-routing', namespace: 'production' }, { name: 'edge', namespace: 'gateways' }]);
    const detail = rolloutDetail({ rollout: listed, deployments: BOTH_DEPLOYMENTS, pods: [], events: [], virtualServices: new Map(), history: EMPTY_HISTORY });
    expect(detail.virtualServices).toEqual([{ name: 'payment-service-routing', namespace: 'production' }, { name: 'edge', namespace: 'gateways' }]);
  });
});

describe('rolloutDetail and rolloutListView', () => {
  it("carries the CLI's status view unchanged", () => {
    const subject = rollout({ status: { phase: 'Progressing', canaryWeight: 5, canaryRevision: REV_B, stableRevision: REV_A, currentStepIndex: 0 } });
    const detail = rolloutDetail({ rollout: subject, deployments: BOTH_DEPLOYMENTS, pods: [], events: [], virtualServices: new Map(), history: EMPTY_HISTORY });
    expect(detail.status).toEqual(rolloutStatusView(subject, BOTH_DEPLOYMENTS));
    expect(detail.virtualServices).toEqual([{ name: 'payment-service-routing', namespace: 'production' }]);
  });

  it('lists by namespace, then name, each with its own Deployments', () => {
    const status = { stableRevision: REV_A };
    const b = rollout({ metadata: { name: 'b', namespace: 'shop' }, status });
    const a = rollout({ metadata: { name: 'a', namespace: 'shop' }, status });
    const z = rollout({ metadata: { name: 'z', namespace: 'bank' }, status });
    // One Deployment per revision, labelled with its Rollout: only a's in shop is a's.
    const stable = (name: string, namespace: string, rolloutLabel = name) => ({
      ...trackDeployment(REV_A, 1, 1),
      metadata: { name: `${name}-${REV_A}`, namespace, labels: { 'switchboard.dev/rollout': rolloutLabel }, annotations: { 'switchboard.dev/revision': REV_A } },
    });
    const deployments = [stable('a', 'shop'), stable('a', 'bank')];
    const list = rolloutListView([b, a, z], (r) => trackDeployments(r, deployments), { problems: [] });
    expect(list.items.map((item) => `${item.namespace}/${item.name}`)).toEqual(['bank/z', 'shop/a', 'shop/b']);
    expect(list.items.map((item) => item.deployments?.[0]?.found)).toEqual([false, true, false]);
  });
});
