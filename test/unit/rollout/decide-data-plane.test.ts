// decide() with istiod known: a step's analysis window opens when every proxy is synced on the
// weight, and pods that lost traffic go only once every proxy has applied the change; the
// timeout and istiod being unreachable each end a wait in the documented way.
import { describe, expect } from 'vitest';
import type { WriteSync } from '../../../src/mesh/types.ts';
import type { ObservedState } from '../../../src/rollout/observed.ts';
import type { RolloutStatus, VirtualService } from '../../../src/rollout/types.ts';
import { runDecideTable } from './decide-table.ts';
import { REV_B, at, deployment, iso, observed, rolloutStatus, seedVirtualService } from './fixtures.ts';

const GENERATION = 4;

function vs(canaryWeight: number, generation = GENERATION): VirtualService {
  const object = seedVirtualService(canaryWeight);
  return { ...object, metadata: { ...object.metadata, generation } };
}

function write(fields: Partial<WriteSync> = {}): WriteSync {
  return { generation: GENERATION, writtenAt: iso(10), proxies: 3, synced: 0, applied: 0, pending: ['checkout-1.shop'], rejected: [], ...fields };
}

const synced = write({ synced: 3, pending: [], syncedAt: '2025-01-01T00:00:10.400Z' });
const applied = write({ synced: 3, applied: 3, pending: [], syncedAt: '2025-01-01T00:00:10.400Z', appliedAt: iso(21) });

/** Step 0 (5%) written to the VirtualService at t=10, not yet recorded. */
const weightWritten = (dataPlane: ObservedState['dataPlane'], spec: NonNullable<Parameters<typeof observed>[0]>['spec'] = undefined) =>
  observed({ virtualService: vs(5), dataPlane, ...(spec === undefined ? {} : { spec }) });

const rollback = { reason: 'Aborted' as const, message: 'aborted by a person', at: iso(9), revision: REV_B };
/** Aborted at t=9, the weight went back to 0 at t=10: the canary's pods wait for the proxies. */
const aborted = (dataPlane: ObservedState['dataPlane'], status: RolloutStatus = {}, spec: NonNullable<Parameters<typeof observed>[0]>['spec'] = { scaleDownDelaySeconds: 0 }) =>
  observed({
    virtualService: vs(0), dataPlane, spec,
    status: rolloutStatus({ phase: 'Aborted', canaryWeight: 25, rollback, ...status }),
  });

describe('decide: the analysis window opens on the data plane', () => {
  runDecideTable([
    {
      name: 'a weight istiod has not reported on yet is not recorded: the step waits, briefly',
      observed: weightWritten({}),
      now: at(10),
      expected: { kind: 'wait', reason: 'WaitingForDataPlane', until: new Date(at(10).getTime() + 1_000) },
    },
    {
      name: 'a proxy still pending: wait until the timeout at most',
      observed: weightWritten({ write: write({ synced: 2 }) }),
      now: at(11),
      expected: { kind: 'wait', reason: 'WaitingForDataPlane', until: at(70) },
      check: (action) => expect(action.message).toContain('synced on 2/3 proxies; waiting for checkout-1.shop'),
    },
    {
      name: 'every proxy synced: the weight is recorded as changed when they had it, and status says how long it took',
      observed: weightWritten({ write: synced }),
      now: at(11),
      expected: {
        kind: 'updateStatus', reason: 'WeightChanged',
        message: 'step 1/5: canary weight is 5%; istiod pushed 5% to 3/3 proxies in 0.4 s',
        status: {
          canaryWeight: 5, weightChangedAt: '2025-01-01T00:00:10.400Z',
          dataPlane: { virtualServiceGeneration: GENERATION, canaryWeight: 5, state: 'Synced', proxies: 3, synced: 3, seconds: 0.4 },
          conditions: expect.arrayContaining([expect.objectContaining({ type: 'DataPlaneSynced', status: 'True', reason: 'Synced' })]),
        },
      },
    },
    {
      name: 'the view of an older generation does not count',
      observed: observed({ virtualService: vs(5, GENERATION + 1), dataPlane: { write: synced } }),
      now: at(11),
      expected: { kind: 'wait', reason: 'WaitingForDataPlane' },
    },
    {
      name: 'past timeoutSeconds the window opens anyway, with a Warning',
      observed: weightWritten({ write: write({ synced: 2 }) }),
      now: at(70),
      expected: {
        kind: 'updateStatus', reason: 'DataPlaneSyncTimeout', warning: true,
        status: { canaryWeight: 5, weightChangedAt: iso(70), dataPlane: { state: 'TimedOut' } },
      },
    },
    {
      name: 'istiod unreachable: the window opens at once, with a Warning',
      observed: weightWritten({ write: write({ unreachable: 'istiod istiod-1 refused /debug/syncz (403)' }) }),
      now: at(12),
      expected: {
        kind: 'updateStatus', reason: 'DataPlaneUnconfirmed', warning: true,
        status: { weightChangedAt: iso(12), dataPlane: { state: 'Unreachable' }, conditions: expect.arrayContaining([expect.objectContaining({ type: 'DataPlaneSynced', status: 'Unknown', reason: 'IstiodUnreachable' })]) },
      },
    },
    {
      name: 'turned off in the spec: recorded at once, as without istiod',
      observed: weightWritten({}, { dataPlaneSync: { enabled: false } }),
      now: at(10),
      expected: { kind: 'updateStatus', reason: 'WeightChanged', status: { weightChangedAt: iso(10) } },
      check: (action) => expect(action.kind === 'updateStatus' && action.status.dataPlane).toBeFalsy(),
    },
    {
      name: 'asked for in the spec of a controller that knows no istiod: the condition says so',
      observed: weightWritten(undefined, { dataPlaneSync: { enabled: true } }),
      now: at(10),
      expected: {
        kind: 'updateStatus', reason: 'WeightChanged',
        status: { conditions: expect.arrayContaining([expect.objectContaining({ type: 'DataPlaneSynced', status: 'Unknown', reason: 'IstiodNotConfigured' })]) },
      },
    },
  ]);
});

describe('decide: pods that lost traffic wait for the data plane', () => {
  runDecideTable([
    {
      name: 'aborted with every proxy synced but not yet applied: the canary keeps its pods',
      observed: aborted({ write: synced }),
      now: at(12),
      expected: { kind: 'wait', reason: 'WaitingForDataPlane', until: at(70) },
    },
    {
      name: 'applied: recorded and told once',
      observed: aborted({ write: applied }),
      now: at(21),
      expected: {
        kind: 'updateStatus', reason: 'DataPlaneSynced',
        message: 'every proxy applied 0% (3/3) 11 s after the write',
        status: { dataPlane: { state: 'Applied', canaryWeight: 0 } },
      },
    },
    {
      name: 'applied and recorded: the canary goes to zero',
      observed: aborted({ write: applied }, { dataPlane: { virtualServiceGeneration: GENERATION, canaryWeight: 0, state: 'Applied', proxies: 3, synced: 3, writtenAt: iso(10), message: '' } }),
      now: at(21),
      expected: { kind: 'updateDeployment', track: 'canary', replicas: 0 },
    },
    {
      name: 'scaleDownDelaySeconds stays the floor: applied early still waits for it',
      observed: aborted({ write: applied }, { canaryScaleDownAt: iso(40) }, { scaleDownDelaySeconds: 30 }),
      now: at(21),
      expected: { kind: 'wait', reason: 'WaitingForScaleDownDelay', until: at(40) },
    },
    {
      name: 'a proxy that never applies, past the timeout: a Warning, and the pods stay (KeepPods)',
      observed: aborted({ write: write({ synced: 3, applied: 2, pending: ['slow-0.shop'] }) }),
      now: at(70),
      expected: { kind: 'updateStatus', reason: 'DataPlaneSyncTimeout', warning: true, status: { dataPlane: { state: 'TimedOut' } } },
      check: (action) => expect(action.message).toMatch(/waiting for slow-0\.shop.*held until they have it/),
    },
    {
      name: 'then held, looking again now and then',
      observed: aborted(
        { write: write({ synced: 3, applied: 2, pending: ['slow-0.shop'] }) },
        { dataPlane: { virtualServiceGeneration: GENERATION, canaryWeight: 0, state: 'TimedOut', proxies: 3, synced: 3, writtenAt: iso(10), message: '' } },
      ),
      now: at(75),
      expected: { kind: 'wait', reason: 'DataPlaneSyncTimeout', until: at(85) },
    },
    {
      name: 'onTimeout ScaleDown: the operator lets the pods go after the Warning',
      observed: aborted(
        { write: write({ synced: 3, applied: 2, pending: ['slow-0.shop'] }) },
        { dataPlane: { virtualServiceGeneration: GENERATION, canaryWeight: 0, state: 'TimedOut', proxies: 3, synced: 3, writtenAt: iso(10), message: '' } },
        { scaleDownDelaySeconds: 0, dataPlaneSync: { onTimeout: 'ScaleDown' } },
      ),
      now: at(75),
      expected: { kind: 'updateDeployment', track: 'canary', replicas: 0 },
    },
    {
      name: 'istiod unreachable: scaleDownDelaySeconds alone decides, after a Warning',
      observed: aborted({ write: write({ unreachable: 'no ready istiod replica behind Service istio-system/istiod' }) }),
      now: at(12),
      expected: { kind: 'updateStatus', reason: 'DataPlaneUnconfirmed', warning: true },
    },
    {
      name: 'without istiod, nothing changes: the canary goes once the delay is over',
      observed: aborted(undefined),
      now: at(12),
      expected: { kind: 'updateDeployment', track: 'canary', replicas: 0 },
    },
    {
      name: 'no canary pods left: nothing to wait for',
      observed: { ...aborted({ write: synced }), canaryDeployment: deployment('canary', { revision: REV_B, replicas: 0 }) },
      now: at(12),
      expected: { kind: 'updateStatus', status: { phase: 'Aborted' } },
    },
  ]);
});
