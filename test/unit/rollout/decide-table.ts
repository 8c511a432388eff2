// Runs decide() table cases: {name, observed, now, expected action (partial)}.
import { expect, it } from 'vitest';
import type { Action } from '../../../src/rollout/actions.ts';
import { decide } from '../../../src/rollout/decide.ts';
import type { ObservedState } from '../../../src/rollout/observed.ts';
import type { RolloutStatus } from '../../../src/rollout/types.ts';

export interface DecideCase {
  name: string;
  observed: ObservedState;
  now: Date;
  /** Matched with toMatchObject: listed fields must be equal, arrays in full. */
  expected: Record<string, unknown>;
  /** Apply status-only writes first (a hold writes its view once, then waits or stops). */
  settle?: boolean;
  check?: (action: Action) => void;
}

export function withStatus(observed: ObservedState, status: RolloutStatus): ObservedState {
  return { ...observed, rollout: { ...observed.rollout, status } };
}

/** decide() until it asks for something other than a status write, as the shell would loop. */
export function settle(observed: ObservedState, now: Date): Action {
  let current = observed;
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const action = decide(current, now);
    if (action.kind !== 'updateStatus') return action;
    current = withStatus(current, action.status);
  }
  throw new Error('status never settles: decide keeps rewriting it');
}

export function runDecideTable(cases: readonly DecideCase[]): void {
  for (const testCase of cases) {
    it(testCase.name, () => {
      const action = testCase.settle === true ? settle(testCase.observed, testCase.now) : decide(testCase.observed, testCase.now);
      expect(action).toMatchObject(testCase.expected);
      testCase.check?.(action);
    });
  }
}

/** Narrows an action for checks that read fields of one kind. */
export function as<K extends Action['kind']>(action: Action, kind: K): Extract<Action, { kind: K }> {
  expect(action.kind).toBe(kind);
  return action as Extract<Action, { kind: K }>;
}
