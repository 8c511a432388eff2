// What the shell sends to a gate and what it hands back: the request is planned here, purely,
// from the Rollout; the answer is observed state, like an analysis round.
import type { GatePoint, GateSpec, Rollout } from '../types.ts';

export const DEFAULT_GATE_TIMEOUT_SECONDS = 10;
export const DEFAULT_GATE_RETRY_INTERVAL_SECONDS = 10;
export const DEFAULT_GATE_MAX_RETRY_INTERVAL_SECONDS = 300;
export const DEFAULT_GATE_RETRIES = 3;

/** The JSON body POSTed to a gate. */
export interface GatePayload {
  rollout: string;
  namespace: string;
  gate: string;
  point: GatePoint;
  /** The revision being rolled out (for AfterRollout: the one now stable). */
  revision?: string;
  stableRevision?: string;
  phase?: string;
  step?: string;
  canaryWeight: number;
  /** BeforeWeightIncrease: the weight the canary is about to get. */
  targetWeight?: number;
  /** OnEvent, AfterRollout, OnRollback: the decision that was told. */
  event?: { type: 'Normal' | 'Warning'; reason: string; message: string };
  metadata: Record<string, string>;
}

/** One request to one gate, planned by decide (holding gates) or by notificationsFor. */
export interface GateCall {
  namespace: string;
  rollout: string;
  gate: GateSpec;
  /** Which passage of the point the answer is for (GateStatus.key). */
  key: string;
  payload: GatePayload;
}

export type GateOutcome = 'allowed' | 'refused' | 'unreachable';

/** What a gate said, as the shell saw it; kept in memory and credited to status by decide. */
export interface GateAnswer {
  gate: string;
  key: string;
  outcome: GateOutcome;
  /** e.g. `HTTP 403: frozen until Monday`, or why no answer came. */
  message: string;
  /** When the request was sent. */
  at: string;
}

export function gatePayload(rollout: Rollout, gate: GateSpec, extra: Partial<GatePayload> = {}): GatePayload {
  const status = rollout.status ?? {};
  return {
    rollout: rollout.metadata.name,
    namespace: rollout.metadata.namespace,
    gate: gate.name,
    point: gate.point,
    ...(status.canaryRevision === undefined ? {} : { revision: status.canaryRevision }),
    ...(status.stableRevision === undefined ? {} : { stableRevision: status.stableRevision }),
    ...(status.phase === undefined ? {} : { phase: status.phase }),
    ...(status.step === undefined ? {} : { step: status.step }),
    canaryWeight: status.canaryWeight ?? 0,
    metadata: gate.metadata ?? {},
    ...extra,
  };
}

/** Why a gate's URL cannot be asked, or undefined when it is a well-formed http(s) URL. */
export function gateUrlProblem(url: unknown): string | undefined {
  if (typeof url !== 'string') return 'it is not a string';
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'it is not a URL';
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return `its scheme is ${parsed.protocol.replace(/:$/, '')}, not http or https`;
  if (parsed.hostname === '') return 'it has no host';
  if (parsed.username !== '' || parsed.password !== '') return 'it carries credentials (send them in a header from a Secret)';
  if (/\s/.test(url)) return 'it contains white space';
  return undefined;
}

/** The wait before asking again after the n-th answer that was not a yes (n from 1). */
export function retryDelayMs(gate: GateSpec, attempts: number): number {
  const first = (gate.retryIntervalSeconds ?? DEFAULT_GATE_RETRY_INTERVAL_SECONDS) * 1000;
  const cap = gate.maxRetryIntervalSeconds === undefined ? Math.max(first, DEFAULT_GATE_MAX_RETRY_INTERVAL_SECONDS * 1000) : gate.maxRetryIntervalSeconds * 1000;
  return Math.min(cap, first * 2 ** Math.min(Math.max(0, attempts - 1), 30));
}
