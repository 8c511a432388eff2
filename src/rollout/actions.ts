// What decide() asks the I/O shell to do next: exactly one write, or nothing until a time or an
// event. Every variant carries an Event-style reason (CamelCase) and a message for people.
//
// How the shell applies them:
// - patches are RFC 6902 JSON patches (`application/json-patch+json`); a failed `test` (422) or a
//   conflict (409) means "re-read and decide again", never "retry the same patch";
// - updateStatus replaces the status subresource of the observed object, sending its
//   resourceVersion, so a decision taken on stale data fails with 409 instead of landing;
// - after any write, observe again and call decide again; runAnalysis: run the plan with
//   analysis/run.ts and pass the round in ObservedState.analysis to the next decide.
import type { V1Deployment } from '@kubernetes/client-node';
import type { Operation } from 'rfc6902';
import type { AnalysisPlan } from '../analysis/types.ts';
import type { GateCall } from './gates/call.ts';
import type { RoutingPlural } from './routing/claims.ts';
import type { Condition, RolloutStatus, Track } from './types.ts';

interface Described {
  /** CamelCase, suitable as a Kubernetes Event reason. */
  reason: string;
  message: string;
}

export interface AddFinalizerAction extends Described {
  kind: 'addFinalizer';
  patch: Operation[];
}

export interface RemoveFinalizerAction extends Described {
  kind: 'removeFinalizer';
  patch: Operation[];
}

export interface CreateDeploymentAction extends Described {
  kind: 'createDeployment';
  track: Track;
  deployment: V1Deployment;
}

export interface UpdateDeploymentAction extends Described {
  kind: 'updateDeployment';
  track: Track;
  name: string;
  replicas: number;
  /** Set when the pod template changes too. */
  revision?: string;
  patch: Operation[];
}

/**
 * Deletes a Deployment of ours that no subset selects any more: one of the layout before one
 * Deployment per revision, or a revision past spec.revisionHistoryLimit. Sent with the uid as a
 * precondition, so a Deployment recreated under the name is not the one deleted.
 */
export interface DeleteDeploymentAction extends Described {
  kind: 'deleteDeployment';
  name: string;
  uid: string;
}

/** Makes an ownerless Deployment of ours (left by an earlier Rollout of this name) ours again. */
export interface AdoptDeploymentAction extends Described {
  kind: 'adoptDeployment';
  track: Track;
  name: string;
  patch: Operation[];
}

/** Leaves a Deployment behind on deletion: its owner reference to the Rollout is removed. */
export interface OrphanDeploymentAction extends Described {
  kind: 'orphanDeployment';
  track: Track;
  name: string;
  patch: Operation[];
}

/** A write to the workloadRef Deployment (a label, or its scale-down after takeover). */
export interface UpdateWorkloadAction extends Described {
  kind: 'updateWorkload';
  name: string;
  patch: Operation[];
}

export interface EnsureSubsetsAction extends Described {
  kind: 'ensureSubsets';
  destinationRule: string;
  patch: Operation[];
}

/** Claims (or releases) routes of a VirtualService or subsets of a DestinationRule (routing/claims.ts). */
export interface UpdateClaimsAction extends Described {
  kind: 'updateClaims';
  plural: RoutingPlural;
  /** Set for a VirtualService outside the Rollout's namespace. */
  namespace?: string;
  name: string;
  patch: Operation[];
  /** A plain claim of free parts is bookkeeping: no Event (a takeover or a release is told). */
  silent?: boolean;
}

/** A patch of one VirtualService, outside the Rollout's namespace when namespace is set. */
export interface VirtualServicePatch {
  namespace?: string;
  name: string;
  patch: Operation[];
}

/**
 * The weights of every managed route of every listed VirtualService, decided on one reading: the
 * others (`before`) are written first and the first VirtualService last, so that the push that
 * carries its write, which the data-plane confirmation follows, carries all of them. Its patch may
 * be nothing but its claim guard then. A write refused half-way leaves weights that disagree,
 * which the next decision writes again.
 */
export interface SetWeightsAction extends Described {
  kind: 'setWeights';
  /** The first VirtualService: written last. */
  virtualService: string;
  namespace?: string;
  canaryWeight: number;
  patch: Operation[];
  before?: VirtualServicePatch[];
}

/** Adds, replaces or removes the header and mirror routes at the top of the VirtualService. */
export interface SetManagedRoutesAction extends Described {
  kind: 'setManagedRoutes';
  virtualService: string;
  namespace?: string;
  /** Names of the routes in place after the write, top first. */
  routes: string[];
  patch: Operation[];
}

export interface RunAnalysisAction extends Described {
  kind: 'runAnalysis';
  plan: AnalysisPlan;
}

/** Asks a holding gate (rollout/gates/); its answer comes back in ObservedState.gateAnswers. */
export interface CallGateAction extends Described {
  kind: 'callGate';
  call: GateCall;
}

export interface UpdateStatusAction extends Described {
  kind: 'updateStatus';
  /** What is written: with folded decisions, the status the last of them decided. */
  status: RolloutStatus;
  /** Bookkeeping only: no Event is recorded for it (for folded decisions, each says so in `decisions`). */
  silent?: boolean;
  /** A hold that needs a person: its Event is a Warning, whatever the reason's name. */
  warning?: boolean;
  /**
   * Set when status-only decisions that follow one another were folded into this one write:
   * every one of them, first to last (the first is this action's own reason and message).
   */
  decisions?: StatusDecision[];
}

/** One status-only decision within a folded write, with the status it decided. */
export interface StatusDecision extends Described {
  status: RolloutStatus;
  silent?: boolean;
  warning?: boolean;
}

/** Nothing to write: decide again at `until` (when set) or on the next event. */
export interface WaitAction extends Described {
  kind: 'wait';
  until?: Date;
}

/** Blocked on something a person must fix; the condition (already in status) says what. */
export interface StopAction extends Described {
  kind: 'stop';
  condition: Condition;
}

export type Action =
  | AddFinalizerAction
  | RemoveFinalizerAction
  | CreateDeploymentAction
  | UpdateDeploymentAction
  | DeleteDeploymentAction
  | AdoptDeploymentAction
  | OrphanDeploymentAction
  | UpdateWorkloadAction
  | EnsureSubsetsAction
  | UpdateClaimsAction
  | SetWeightsAction
  | SetManagedRoutesAction
  | RunAnalysisAction
  | CallGateAction
  | UpdateStatusAction
  | WaitAction
  | StopAction;

export type ActionKind = Action['kind'];
