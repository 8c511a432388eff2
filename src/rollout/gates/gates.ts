// Holding gates: before the rollout starts, before each weight increase and before promotion,
// every gate at that point must answer 2xx. The answer is observed state (the shell asks, as it
// runs analysis rounds); here it is credited to status.gates, and the Rollout waits, asking
// again with backoff, until each gate says yes or `switchboard promote` lets it past. A refusal
// or a gate that cannot be asked holds the rollout where it is: it never fails it.
import type { Action } from '../actions.ts';
import { CONDITION } from '../conditions.ts';
import { addMilliseconds } from '../durations.ts';
import { baseConditions, hold, viewStatus, waitUntil, type HoldView } from '../hold.ts';
import { timestamp, type RoutedContext } from '../state.ts';
import { updateStatus } from '../transitions.ts';
import { HOLDING_GATE_POINTS, type GatePoint, type GateSpec, type GateState, type GateStatus, type RolloutStatus } from '../types.ts';
import { gatePayload, retryDelayMs, type GateAnswer, type GateCall, type GatePayload } from './call.ts';

/** One passage of a holding point: the same key is asked once per rollout. */
export interface GatePassage {
  point: GatePoint;
  key: string;
  /** What waits on the gate, for messages: "the promotion of revision 5d8c". */
  what: string;
  payload?: Partial<GatePayload>;
  /** Decide again no later than this while a gate holds (the next analysis round). */
  wakeBy?: Date;
}

const PASSED: ReadonlySet<GateState> = new Set<GateState>(['Open', 'Overridden']);

export function gatesAt(ctx: RoutedContext, point: GatePoint): GateSpec[] {
  return (ctx.spec.gates ?? []).filter((gate) => gate.point === point);
}

function entryFor(status: RolloutStatus, gate: GateSpec, key: string): GateStatus | undefined {
  return status.gates?.find((entry) => entry.name === gate.name && entry.key === key);
}

/** One entry per gate: the passage it was last asked at replaces the one before. */
export function withGateEntry(status: RolloutStatus, entry: GateStatus): RolloutStatus {
  const gates = status.gates ?? [];
  const next = gates.some((e) => e.name === entry.name) ? gates.map((e) => (e.name === entry.name ? entry : e)) : [...gates, entry];
  return { ...status, gates: next };
}

export function gateLabel(gate: GateSpec): string {
  return `gate "${gate.name}" (${gate.point})`;
}

function holdingMessage(ctx: RoutedContext, gate: GateSpec, passage: GatePassage, state: GateState, answer: string, attempts: number, next: Date): string {
  const name = ctx.rollout.metadata.name;
  const said = state === 'Refused' ? `refused ${passage.what}: ${answer}` : `could not be asked about ${passage.what}: ${answer}`;
  return `${gateLabel(gate)} ${said}; ${attempts} ${attempts === 1 ? 'answer' : 'answers'} so far, asked again at ${next.toISOString()}; ` +
    `\`switchboard promote ${name}\` lets the rollout past it`;
}

function holdView(ctx: RoutedContext, entry: GateStatus): HoldView {
  const reason = entry.state === 'Refused' ? 'GateRefused' : entry.state === 'Unreachable' ? 'GateUnreachable' : 'WaitingForGate';
  const condition = { type: CONDITION.progressing, status: 'True' as const, reason, message: entry.message };
  return { phase: 'Paused', message: entry.message, conditions: [...baseConditions(ctx), condition] };
}

/** The status with the entry, shown as the Rollout's message and condition. */
function shown(ctx: RoutedContext, entry: GateStatus): RolloutStatus {
  const withEntry = withGateEntry(ctx.status, entry);
  return viewStatus({ ...ctx, status: withEntry }, holdView(ctx, entry));
}

function credit(ctx: RoutedContext, gate: GateSpec, entry: GateStatus, answer: GateAnswer, passage: GatePassage): Action {
  const attempts = entry.attempts + 1;
  const base = { name: gate.name, point: gate.point, key: passage.key, answer: answer.message, attempts, lastAttemptAt: answer.at };
  if (answer.outcome === 'allowed') {
    const message = `${gateLabel(gate)} allowed ${passage.what}: ${answer.message}`;
    const condition = { type: CONDITION.progressing, status: 'True' as const, reason: 'GateOpened', message };
    const view: HoldView = { phase: 'Progressing', message, conditions: [...baseConditions(ctx), condition] };
    const status = viewStatus({ ...ctx, status: withGateEntry(ctx.status, { ...base, state: 'Open', message }) }, view);
    return updateStatus('GateOpened', message, status);
  }
  const state: GateState = answer.outcome === 'refused' ? 'Refused' : 'Unreachable';
  const next = addMilliseconds(new Date(Date.parse(answer.at)), retryDelayMs(gate, attempts));
  const message = holdingMessage(ctx, gate, passage, state, answer.message, attempts, next);
  const updated: GateStatus = { ...base, state, message, nextAttemptAt: next.toISOString() };
  const reason = state === 'Refused' ? 'GateRefused' : 'GateUnreachable';
  // The same answer again is bookkeeping: the Warning was told when the gate first said it.
  const repeated = entry.state === state && entry.answer === answer.message;
  return { kind: 'updateStatus', reason, message, status: shown(ctx, updated), ...(repeated ? { silent: true } : { warning: true }) };
}

/**
 * An answer not yet credited, asked during this step: one kept in memory from before a `retry`
 * (same revision, same passage) must not let the new rollout through.
 */
function isFresh(ctx: RoutedContext, entry: GateStatus, answer: GateAnswer): boolean {
  if (PASSED.has(entry.state)) return false;
  const at = Date.parse(answer.at);
  if (at < (timestamp(ctx.status.stepStartedAt) ?? Number.NEGATIVE_INFINITY)) return false;
  const last = timestamp(entry.lastAttemptAt);
  return last === undefined || at > last;
}

function callAction(ctx: RoutedContext, gate: GateSpec, passage: GatePassage, entry: GateStatus): Action {
  const { rollout } = ctx;
  const call: GateCall = {
    namespace: rollout.metadata.namespace,
    rollout: rollout.metadata.name,
    gate,
    key: passage.key,
    payload: gatePayload(rollout, gate, passage.payload),
  };
  const message = entry.attempts === 0 ? `asking ${gateLabel(gate)} about ${passage.what}` : `asking ${gateLabel(gate)} again about ${passage.what}`;
  return { kind: 'callGate', reason: 'GateAsked', message, call };
}

/**
 * Undefined when every gate at the passage's point has let it through (or there is none);
 * otherwise the next thing to do about the first that has not: record that it is being asked,
 * ask it, credit its answer, or wait until it is asked again.
 */
export function gateHold(ctx: RoutedContext, passage: GatePassage): Action | undefined {
  const gates = gatesAt(ctx, passage.point);
  for (const gate of gates) {
    const entry = entryFor(ctx.status, gate, passage.key);
    const answer = ctx.observed.gateAnswers?.find((a) => a.gate === gate.name && a.key === passage.key);
    if (entry !== undefined && answer !== undefined && isFresh(ctx, entry, answer)) return credit(ctx, gate, entry, answer, passage);
  }
  for (const gate of gates) {
    const entry = entryFor(ctx.status, gate, passage.key);
    if (entry !== undefined && PASSED.has(entry.state)) continue;
    if (entry === undefined) {
      const message = `asking ${gateLabel(gate)} about ${passage.what}`;
      const waiting: GateStatus = { name: gate.name, point: gate.point, key: passage.key, state: 'Waiting', message, attempts: 0 };
      return updateStatus('WaitingForGate', message, shown(ctx, waiting));
    }
    const due = timestamp(entry.nextAttemptAt) ?? ctx.now.getTime();
    if (ctx.now.getTime() >= due) return callAction(ctx, gate, passage, entry);
    const wake = passage.wakeBy !== undefined && passage.wakeBy.getTime() < due ? passage.wakeBy : new Date(due);
    const view = holdView(ctx, entry);
    return hold(ctx, view, waitUntil(view.conditions.at(-1)?.reason ?? 'WaitingForGate', entry.message, wake));
  }
  return undefined;
}

/**
 * What `switchboard promote` does to gates that hold: each is let through, and status keeps
 * when and by whom. Undefined when no gate holds.
 */
export function overrideGates(
  status: RolloutStatus, gates: readonly GateSpec[], now: Date, by: string | undefined,
): { status: RolloutStatus; names: string[] } | undefined {
  // An entry of a gate no longer in the spec, or of a gate that never holds, holds nothing.
  const named = new Set(gates.filter((gate) => HOLDING_GATE_POINTS.includes(gate.point)).map((gate) => gate.name));
  const holds = (entry: GateStatus) => !PASSED.has(entry.state) && named.has(entry.name);
  const holding = (status.gates ?? []).filter(holds);
  if (holding.length === 0) return undefined;
  const at = now.toISOString();
  const who = by === undefined ? '' : ` by ${by}`;
  const entries = (status.gates ?? []).map((entry) => {
    if (!holds(entry)) return entry;
    const { nextAttemptAt: _next, ...kept } = entry;
    const had = entry.answer === undefined ? 'before it answered' : `after it answered ${entry.answer}`;
    const message = `gate "${entry.name}" (${entry.point}) overridden${who} with \`switchboard promote\` at ${at}, ${had}`;
    return { ...kept, state: 'Overridden' as const, message, overriddenAt: at, ...(by === undefined ? {} : { overriddenBy: by }) };
  });
  return { status: { ...status, gates: entries }, names: holding.map((entry) => entry.name) };
}
