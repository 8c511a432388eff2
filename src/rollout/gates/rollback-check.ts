// RollbackCheck gates, Flagger's rollback hook: asked over and over while a canary runs (between
// steps, in a pause, waiting for a holding gate or for promote), and a 2xx answer rolls it back.
// Any other answer is "no": the rollout goes on, and the gate is asked again retryIntervalSeconds
// later. A gate that cannot be asked is never taken for a yes; it is asked again with backoff, up
// to maxRetryIntervalSeconds, so a dead endpoint is not hammered.
import type { Action } from '../actions.ts';
import { addMilliseconds } from '../durations.ts';
import { timestamp, type RoutedContext } from '../state.ts';
import { rollbackStatus, updateStatus } from '../transitions.ts';
import type { GateSpec, GateStatus } from '../types.ts';
import { DEFAULT_GATE_RETRY_INTERVAL_SECONDS, gatePayload, retryDelayMs, type GateAnswer } from './call.ts';
import { gatesAt, gateLabel, withGateEntry } from './gates.ts';

export interface RollbackCheck {
  /** Record, ask or roll back now. */
  action?: Action;
  /** Otherwise, when the next gate is due: the rollout must be decided again by then. */
  dueAt?: Date;
}

function keyOf(revision: string): string {
  return `${revision}/rollback-check`;
}

/** An answer sent after the last one credited and during this rollout's current step. */
function isFresh(ctx: RoutedContext, entry: GateStatus, answer: GateAnswer): boolean {
  const at = Date.parse(answer.at);
  if (at < (timestamp(ctx.status.stepStartedAt) ?? Number.NEGATIVE_INFINITY)) return false;
  const last = timestamp(entry.lastAttemptAt);
  return last === undefined || at > last;
}

function credit(ctx: RoutedContext, gate: GateSpec, entry: GateStatus, answer: GateAnswer, revision: string): Action {
  const attempts = entry.attempts + 1;
  const base = { name: gate.name, point: gate.point, key: entry.key, answer: answer.message, attempts, lastAttemptAt: answer.at };
  if (answer.outcome === 'allowed') {
    const message = `${gateLabel(gate)} asked for a rollback of revision ${revision}: ${answer.message}; all traffic goes back to stable`;
    const status = withGateEntry(rollbackStatus(ctx, 'GateRequestedRollback', message), { ...base, state: 'Open', message });
    return { ...updateStatus('GateRequestedRollback', message, status), warning: true };
  }
  const unreachable = answer.outcome === 'unreachable';
  // A "no" keeps the cadence; only a gate that cannot be asked backs off.
  const unreachableInARow = unreachable ? (entry.state === 'Unreachable' ? attempts : 1) : 0;
  const waitMs = unreachable ? retryDelayMs(gate, unreachableInARow) : (gate.retryIntervalSeconds ?? DEFAULT_GATE_RETRY_INTERVAL_SECONDS) * 1000;
  const next = addMilliseconds(new Date(Date.parse(answer.at)), waitMs).toISOString();
  const message = unreachable
    ? `${gateLabel(gate)} could not be asked about revision ${revision}: ${answer.message}; the rollout goes on, asked again at ${next}`
    : `${gateLabel(gate)} did not ask for a rollback of revision ${revision} (${answer.message}); asked again at ${next}`;
  const updated: GateStatus = { ...base, state: unreachable ? 'Unreachable' : 'Open', message, nextAttemptAt: next };
  const first = entry.state !== updated.state || entry.answer !== answer.message;
  const action = updateStatus(unreachable ? 'GateUnreachable' : 'RollbackNotRequested', message, withGateEntry(ctx.status, updated));
  // A gate that keeps saying no is bookkeeping; one that cannot be asked is told once.
  return unreachable && first ? { ...action, warning: true } : { ...action, silent: true };
}

/**
 * What the RollbackCheck gates want of a rollout at a step of revision `revision`: an answer to
 * credit (a yes rolls back), a gate to ask, or nothing now but a time to look again.
 */
export function rollbackCheck(ctx: RoutedContext, revision: string): RollbackCheck {
  const gates = gatesAt(ctx, 'RollbackCheck');
  const key = keyOf(revision);
  const entries = gates.map((gate) => ctx.status.gates?.find((entry) => entry.name === gate.name && entry.key === key));
  for (const [index, gate] of gates.entries()) {
    const entry = entries[index];
    const answer = ctx.observed.gateAnswers?.find((a) => a.gate === gate.name && a.key === key);
    if (entry !== undefined && answer !== undefined && isFresh(ctx, entry, answer)) return { action: credit(ctx, gate, entry, answer, revision) };
  }
  let dueAt: Date | undefined;
  for (const [index, gate] of gates.entries()) {
    const entry = entries[index];
    if (entry === undefined) {
      const message = `asking ${gateLabel(gate)} whether revision ${revision} should be rolled back`;
      const waiting: GateStatus = { name: gate.name, point: gate.point, key, state: 'Waiting', message, attempts: 0 };
      return { action: { ...updateStatus('RollbackCheckStarted', message, withGateEntry(ctx.status, waiting)), silent: true } };
    }
    const due = timestamp(entry.nextAttemptAt) ?? ctx.now.getTime();
    if (ctx.now.getTime() >= due) {
      const { rollout } = ctx;
      const call = { namespace: rollout.metadata.namespace, rollout: rollout.metadata.name, gate, key, payload: gatePayload(rollout, gate) };
      return { action: { kind: 'callGate', reason: 'GateAsked', message: `asking ${gateLabel(gate)} whether revision ${revision} should be rolled back`, call } };
    }
    if (dueAt === undefined || due < dueAt.getTime()) dueAt = new Date(due);
  }
  return dueAt === undefined ? {} : { dueAt };
}

/** The action, woken no later than the next RollbackCheck gate is due. */
export function wakeForRollbackCheck(action: Action, dueAt: Date | undefined): Action {
  if (dueAt === undefined || action.kind !== 'wait') return action;
  return action.until === undefined || action.until > dueAt ? { ...action, until: dueAt } : action;
}
