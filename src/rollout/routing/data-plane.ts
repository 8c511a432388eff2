// Whether istiod's proxies have taken the VirtualService's current weights, as a gate for the
// decisions that depend on it: a step's analysis window starts once every proxy is synced, and
// pods that lost traffic go once every proxy has applied the change (and scaleDownDelaySeconds,
// the floor, has passed). The view comes from the shell (mesh/sync-tracker.ts); a timeout bounds
// every wait, and what happens then is spec.dataPlaneSync.onTimeout's to say.
import type { WriteSync } from '../../mesh/types.ts';
import { CONDITION, setConditions, type ConditionUpdate } from '../conditions.ts';
import { addMilliseconds } from '../durations.ts';
import { timestamp, type DecideContext } from '../state.ts';
import type { DataPlaneStatus, RolloutStatus } from '../types.ts';

export type SyncLevel = 'synced' | 'applied';

export type DataPlaneGate =
  /** Not asked: turned off, no VirtualService, or the controller knows no istiod (notConfigured: the spec asked for it). */
  | { kind: 'off'; notConfigured: boolean }
  | { kind: 'confirmed'; level: SyncLevel; at: Date; write: WriteSync }
  | { kind: 'waiting'; until: Date; message: string }
  | { kind: 'unconfirmed'; state: 'TimedOut' | 'Unreachable'; message: string; write: WriteSync; proxiesLeft: boolean };

/** The shell starts following a generation it was not told of when a decision waits for it. */
const UNTRACKED_RECHECK_MS = 1_000;

export function dataPlaneGate(ctx: DecideContext, level: SyncLevel): DataPlaneGate {
  const { enabled, timeoutSeconds } = ctx.spec.dataPlaneSync;
  const view = ctx.observed.dataPlane;
  const vs = ctx.observed.virtualService;
  if (!enabled || vs === undefined) return { kind: 'off', notConfigured: false };
  if (view === undefined) return { kind: 'off', notConfigured: ctx.rollout.spec.dataPlaneSync?.enabled === true };
  const { generation } = vs.metadata;
  const { write } = view;
  if (write === undefined || write.generation !== generation) {
    const message = `asking istiod about VirtualService ${vs.metadata.name} (generation ${generation ?? '?'})`;
    return { kind: 'waiting', until: addMilliseconds(ctx.now, UNTRACKED_RECHECK_MS), message };
  }
  if (write.unreachable !== undefined) {
    return { kind: 'unconfirmed', state: 'Unreachable', message: write.unreachable, write, proxiesLeft: false };
  }
  const at = timestamp(level === 'synced' ? write.syncedAt : write.appliedAt);
  if (at !== undefined) return { kind: 'confirmed', level, at: new Date(at), write };
  const done = level === 'synced' ? write.synced : write.applied;
  const progress = `${level} on ${done}/${write.proxies} proxies${pendingList(write)}`;
  const deadline = addMilliseconds(new Date(timestamp(write.writtenAt) ?? ctx.now.getTime()), timeoutSeconds * 1000);
  if (ctx.now >= deadline) {
    const message = `${progress} after timeoutSeconds (${timeoutSeconds})`;
    return { kind: 'unconfirmed', state: 'TimedOut', message, write, proxiesLeft: done < write.proxies };
  }
  return { kind: 'waiting', until: deadline, message: progress };
}

function pendingList(write: WriteSync): string {
  const names = [...write.rejected.map((proxy) => `${proxy} (rejected the routes)`), ...write.pending];
  return names.length === 0 ? '' : `; waiting for ${names.join(', ')}`;
}

function seconds(write: WriteSync, at: Date): number {
  return Math.round((at.getTime() - (timestamp(write.writtenAt) ?? at.getTime())) / 10) / 100;
}

/** What status records of a gate that let a decision go on. */
function dataPlaneStatus(gate: Extract<DataPlaneGate, { kind: 'confirmed' | 'unconfirmed' }>, canaryWeight: number): DataPlaneStatus {
  const { write } = gate;
  const base = { virtualServiceGeneration: write.generation, canaryWeight, proxies: write.proxies, synced: write.synced, writtenAt: write.writtenAt };
  if (gate.kind === 'unconfirmed') {
    const message = gate.state === 'Unreachable'
      ? `istiod could not be asked whether proxies have ${canaryWeight}%: ${gate.message}`
      : `proxies not confirmed on ${canaryWeight}%: ${gate.message}`;
    return { ...base, state: gate.state, message };
  }
  const took = seconds(write, gate.at);
  const message = gate.level === 'synced'
    ? `istiod pushed ${canaryWeight}% to ${write.synced}/${write.proxies} proxies in ${took} s`
    : `every proxy applied ${canaryWeight}% (${write.applied}/${write.proxies}) ${took} s after the write`;
  return { ...base, state: gate.level === 'synced' ? 'Synced' : 'Applied', syncedAt: gate.at.toISOString(), seconds: took, message };
}

function condition(record: DataPlaneStatus): ConditionUpdate {
  switch (record.state) {
    case 'Synced':
    case 'Applied':
      return { type: CONDITION.dataPlaneSynced, status: 'True', reason: record.state, message: record.message };
    case 'TimedOut':
      return { type: CONDITION.dataPlaneSynced, status: 'False', reason: 'Timeout', message: record.message };
    case 'Unreachable':
      return { type: CONDITION.dataPlaneSynced, status: 'Unknown', reason: 'IstiodUnreachable', message: record.message };
  }
}

const NOT_CONFIGURED: ConditionUpdate = {
  type: CONDITION.dataPlaneSynced, status: 'Unknown', reason: 'IstiodNotConfigured',
  message: 'spec.dataPlaneSync.enabled is true but the controller was started without --istiod-url or --istiod-service: scaleDownDelaySeconds alone guards scale-downs',
};

/** The status fields a gate's outcome adds: the record, and its condition. */
export function withDataPlane(ctx: DecideContext, status: RolloutStatus, gate: DataPlaneGate, canaryWeight: number): RolloutStatus {
  if (gate.kind === 'off') {
    if (!gate.notConfigured) return status;
    return { ...status, conditions: setConditions(status.conditions ?? [], [NOT_CONFIGURED], ctx.now, ctx.rollout.metadata.generation) };
  }
  if (gate.kind === 'waiting') return status;
  const dataPlane = dataPlaneStatus(gate, canaryWeight);
  return { ...status, dataPlane, conditions: setConditions(status.conditions ?? [], [condition(dataPlane)], ctx.now, ctx.rollout.metadata.generation) };
}

/** Reason of the Event a gate's outcome is told under; Warnings for the unconfirmed. */
export function dataPlaneReason(gate: DataPlaneGate): { reason: string; warning: boolean } | undefined {
  if (gate.kind !== 'unconfirmed') return undefined;
  return gate.state === 'Unreachable' ? { reason: 'DataPlaneUnconfirmed', warning: true } : { reason: 'DataPlaneSyncTimeout', warning: true };
}

/** Whether status already records this outcome for the VirtualService's current generation. */
export function recorded(ctx: DecideContext, gate: DataPlaneGate): boolean {
  if (gate.kind !== 'confirmed' && gate.kind !== 'unconfirmed') return true;
  const stored = ctx.status.dataPlane;
  const state = gate.kind === 'unconfirmed' ? gate.state : gate.level === 'synced' ? 'Synced' : 'Applied';
  return stored?.virtualServiceGeneration === gate.write.generation && stored.state === state;
}
