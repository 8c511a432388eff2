// decide() folds status-only decisions that follow one another into one write; each folded write
// must end where single decisions, written and read back one by one, would have ended.
import { describe, expect, it } from 'vitest';
import type { Action, UpdateStatusAction } from '../../../src/rollout/actions.ts';
import { decide, decideOne } from '../../../src/rollout/decide.ts';
import { foldStatusDecisions, MAX_FOLDED_DECISIONS } from '../../../src/rollout/fold-status.ts';
import type { ObservedState } from '../../../src/rollout/observed.ts';
import { as, withStatus } from './decide-table.ts';
import { at, iso, observed, rolloutStatus, round, seedVirtualService } from './fixtures.ts';

const NO_ANALYSIS = { analysis: undefined as never };
const STEPS = [{ setWeight: 20 }, { pause: { duration: '10s' } }, { setWeight: 50 }, { pause: { duration: '10s' } }];

/** Single decisions, each written and read back as JSON, until one is not a status write. */
function oneByOne(start: ObservedState, now: Date): { reasons: string[]; status: ObservedState['rollout']['status']; next: Action } {
  let current = start;
  const reasons: string[] = [];
  for (let pass = 0; pass < 20; pass += 1) {
    const action = decideOne(current, now);
    if (action.kind !== 'updateStatus') return { reasons, status: current.rollout.status, next: action };
    reasons.push(action.reason);
    current = withStatus(current, JSON.parse(JSON.stringify(action.status)));
  }
  throw new Error('status never settles');
}

describe('folded status decisions', () => {
  const cases: { name: string; state: ObservedState; now: Date; reasons: string[] }[] = [
    {
      name: 'the weight is recorded, the setWeight step completes and the pause starts: one write',
      state: observed({ spec: { steps: STEPS, ...NO_ANALYSIS }, virtualService: seedVirtualService(20), status: rolloutStatus({ canaryWeight: 0 }) }),
      now: at(30),
      reasons: ['WeightChanged', 'StepCompleted', 'StatusChanged'],
    },
    {
      name: 'a passing round is credited and the step it gated completes: one write',
      state: observed({
        virtualService: seedVirtualService(5),
        status: rolloutStatus({ canaryWeight: 5, weightChangedAt: iso(10) }),
        analysis: round('pass', 70),
      }),
      now: at(70),
      reasons: ['AnalysisPassed', 'StepCompleted', 'StatusChanged'],
    },
  ];
  for (const { name, state, now, reasons } of cases) {
    it(name, () => {
      const folded = as(decide(state, now), 'updateStatus');
      const single = oneByOne(state, now);
      expect(single.reasons).toEqual(reasons);
      expect(folded.decisions?.map((d) => d.reason)).toEqual(reasons);
      expect(folded.reason).toBe(reasons[0]);
      expect(JSON.parse(JSON.stringify(folded.status))).toEqual(single.status);
      // The pass after the folded write decides what the pass after the last single write did.
      expect(decide(withStatus(state, JSON.parse(JSON.stringify(folded.status))), now)).toEqual(single.next);
    });
  }

  it('a decision that is not a status write is never folded', () => {
    const state = observed({ spec: { steps: STEPS, ...NO_ANALYSIS }, status: rolloutStatus({ canaryWeight: 0 }) });
    expect(decide(state, at(30))).toEqual(decideOne(state, at(30)));
    expect(decide(state, at(30)).kind).toBe('setWeights');
  });

  it('a single status decision is returned as it is, without a decisions list', () => {
    const state = observed({ spec: { steps: STEPS, ...NO_ANALYSIS }, virtualService: seedVirtualService(20), status: rolloutStatus({ canaryWeight: 20, currentStepIndex: 1, stepStartedAt: iso(0) }) });
    const action = as(decide(state, at(30)), 'updateStatus');
    expect(action.reason).toBe('StepCompleted');
    expect(action.decisions).toBeUndefined();
  });

  it('stops after MAX_FOLDED_DECISIONS when status would never settle', () => {
    let counter = 0;
    const restless = (): UpdateStatusAction => ({ kind: 'updateStatus', reason: 'Restless', message: `write ${counter}`, status: { message: `write ${(counter += 1)}` } });
    const folded = as(foldStatusDecisions(observed(), at(0), restless), 'updateStatus');
    expect(folded.decisions).toHaveLength(MAX_FOLDED_DECISIONS);
    expect(folded.status.message).toBe(`write ${MAX_FOLDED_DECISIONS}`);
  });

  it('stops when the next decision would write the same status again', () => {
    const same = (): UpdateStatusAction => ({ kind: 'updateStatus', reason: 'Same', message: 'same', status: { message: 'same' } });
    const folded = as(foldStatusDecisions(observed(), at(0), same), 'updateStatus');
    expect(folded.decisions).toBeUndefined();
  });
});
