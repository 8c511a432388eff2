// What `switchboard status` and `get` know about a rollout, as one object: the readable view is
// drawn from it (rollout-format.ts) and -o json|yaml print it, so the two cannot say different
// things. Scripts read it, so its shape is a contract (docs/operations.md, rollout-view-schema.ts):
// within an apiVersion fields are only added, and absent values are left out, never null.
// Not the Rollout itself: the CRD's status is bookkeeping for the controller and changes with it.
import type { V1Deployment } from '@kubernetes/client-node';
import { COMMAND_ANNOTATIONS, type RolloutCommand } from '../../rollout/commands.ts';
import { effectiveSteps } from '../../rollout/defaults.ts';
import { deploymentName, deploymentRevision, desiredReplicas } from '../../rollout/deployments/deployments.ts';
import { parseDuration } from '../../rollout/durations.ts';
import { DEFAULT_MIRROR_PERCENTAGE, describeMatch } from '../../rollout/routing/managed-routes.ts';
import type {
  CheckVerdict, Condition, DataPlaneState, GateStatus, HeaderRouteMatch, MirrorRouteMatch, Rollout, RollbackReason, RolloutPhase, RolloutStep, Track,
} from '../../rollout/types.ts';
import type { TrackDeployments } from './rollout-api.ts';

/**
 * A group of its own, not the CRD's switchboard.dev: nothing serves these kinds, and a tool that
 * keys on apiVersion and kind must not take a RolloutStatusList for the CRD's RolloutList.
 */
export const VIEW_API_VERSION = 'cli.switchboard.dev/v1';
export const STATUS_VIEW_KIND = 'RolloutStatus';
export const STATUS_LIST_KIND = 'RolloutStatusList';

export interface StepPosition {
  /** 0-based, into `steps`; equal to `count` once every step is done. */
  index: number;
  count: number;
}

export type StepType = keyof RolloutStep;

export interface StepView {
  type: StepType;
  description: string;
  /** The step in progress (none when no rollout is in progress or every step is done). */
  current: boolean;
  /** Only on the current step, when it is a pause. */
  pause?: { released: boolean; endsAt?: string };
}

export interface DeploymentView {
  track: Track;
  name: string;
  found: boolean;
  /** With `desired` and `revision`: only when found (`revision` only when annotated). */
  ready?: number;
  desired?: number;
  revision?: string;
}

export interface MetricResultView {
  name: string;
  verdict: CheckVerdict;
  /** The metric is dry-run: recorded, not counted. */
  dryRun?: boolean;
  value?: number;
  limit?: number;
  at?: string;
  message: string;
}

export interface AnalysisView {
  /** The configured metrics' names; empty when spec.analysis is gone but rounds were counted. */
  metrics: string[];
  /** Failed rounds tolerated (spec.analysis.failureLimit); one more rolls back. */
  failureLimit: number;
  /** Omitted until the first round of this rollout. */
  counts?: { passed: number; failed: number; inconclusive: number; errored: number };
  lastRunAt?: string;
  /** The last round, one entry per check. */
  last: MetricResultView[];
}

export interface DataPlaneView {
  state: DataPlaneState;
  message: string;
  virtualServiceGeneration: number;
  canaryWeight: number;
  proxies: number;
  synced: number;
  writtenAt?: string;
  syncedAt?: string;
  seconds?: number;
}

export type ManagedRouteView =
  | { name: string; type: 'Header'; match: HeaderRouteMatch[] }
  | { name: string; type: 'Mirror'; match: MirrorRouteMatch[]; percentage: number };

/** A holding gate of the rollout in progress (or the last one): status.gates, without the passage key. */
export type GateView = Omit<GateStatus, 'key'>;

export interface RollbackView {
  reason: RollbackReason;
  message: string;
  at?: string;
  revision: string;
}

export interface ConditionView {
  type: string;
  status: Condition['status'];
  reason: string;
  message: string;
  lastTransitionTime?: string;
}

export interface PendingCommandView {
  command: RolloutCommand;
  token: string;
}

/** `switchboard status NAME -o json`; field by field in docs/operations.md. Timestamps: RFC 3339, UTC. */
export interface RolloutStatusView {
  apiVersion: typeof VIEW_API_VERSION;
  kind: typeof STATUS_VIEW_KIND;
  name: string;
  namespace: string;
  creationTimestamp?: string;
  /** Omitted until the controller has written a status. */
  phase?: RolloutPhase;
  message?: string;
  generation?: number;
  observedGeneration?: number;
  /** The status is about the latest spec; until it is, phase may still describe the previous one. */
  specObserved: boolean;
  /** spec.paused. */
  paused: boolean;
  canaryWeight?: number;
  dataPlane?: DataPlaneView;
  managedRoutes: ManagedRouteView[];
  /** Omitted when no gate was asked. */
  gates?: GateView[];
  /** Omitted when no rollout is in progress. */
  step?: StepPosition;
  steps: StepView[];
  stableRevision?: string;
  canaryRevision?: string;
  /** Stable then canary; omitted when they could not be read (get -w goes on without them). */
  deployments?: DeploymentView[];
  /** Omitted when none is configured and none was counted. */
  analysis?: AnalysisView;
  rollback?: RollbackView;
  conditions: ConditionView[];
  /** Commands whose annotation the controller has not acknowledged yet, in the order it handles them. */
  pendingCommands: PendingCommandView[];
}

export interface RolloutStatusListView {
  apiVersion: typeof VIEW_API_VERSION;
  kind: typeof STATUS_LIST_KIND;
  items: RolloutStatusView[];
}

/** The object without its undefined members, so that neither JSON nor YAML can show them. */
function present<T extends object>(object: T): T {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)) as T;
}

/**
 * RFC 3339 in UTC, as toISOString writes it, whatever form the object held (a string, or a Date
 * from client-node's typed decoders); undefined when there is none or it is not a time.
 */
export function rfc3339(time: string | Date | undefined): string | undefined {
  if (time === undefined) return undefined;
  const at = typeof time === 'string' ? Date.parse(time) : time.getTime();
  return Number.isNaN(at) ? undefined : new Date(at).toISOString();
}

function stepType(step: RolloutStep): StepType {
  const types: StepType[] = ['setWeight', 'setCanaryScale', 'setHeaderRoute', 'setMirrorRoute', 'pause'];
  return types.find((type) => step[type] !== undefined) ?? 'pause';
}

function describeStep(step: RolloutStep): string {
  if (step.setWeight !== undefined) return `setWeight ${step.setWeight}`;
  if (step.setCanaryScale !== undefined) {
    const { replicas, weight } = step.setCanaryScale;
    return replicas !== undefined ? `setCanaryScale ${replicas} pods` : weight !== undefined ? `setCanaryScale ${weight}% of replicas` : 'setCanaryScale: sized by weight';
  }
  if (step.setHeaderRoute !== undefined) {
    const { name, match } = step.setHeaderRoute;
    return match === undefined || match.length === 0 ? `setHeaderRoute ${name}: remove` : `setHeaderRoute ${name}: ${describeMatch({ type: 'Header', match })} to canary`;
  }
  if (step.setMirrorRoute !== undefined) {
    const { name, match, percentage } = step.setMirrorRoute;
    if (match === undefined || match.length === 0) return `setMirrorRoute ${name}: remove`;
    return `setMirrorRoute ${name}: ${percentage ?? DEFAULT_MIRROR_PERCENTAGE}% of ${describeMatch({ type: 'Mirror', match })} copied to canary`;
  }
  return step.pause?.duration === undefined ? 'pause until promoted' : `pause ${step.pause.duration}`;
}

/** An absolute end rather than the time left, so that the view does not change by itself as time passes. */
function pauseState(rollout: Rollout, step: RolloutStep, index: number): StepView['pause'] {
  if (step.pause === undefined) return undefined;
  const { status } = rollout;
  if (status?.pauseReleasedStepIndex === index) return { released: true };
  const started = status?.pauseStartedAt === undefined ? Number.NaN : Date.parse(status.pauseStartedAt);
  const duration = step.pause.duration === undefined ? undefined : parseDuration(step.pause.duration);
  if (Number.isNaN(started) || duration === undefined) return { released: false };
  return { released: false, endsAt: new Date(started + duration).toISOString() };
}

/** The steps walked (a blue-green release's too), the one in progress marked (none when no rollout is recorded). */
export function stepViews(rollout: Rollout): StepView[] {
  const current = rollout.status?.canaryRevision === undefined ? undefined : rollout.status.currentStepIndex;
  return effectiveSteps(rollout.spec).map((step, index) => present<StepView>({
    type: stepType(step),
    description: describeStep(step),
    current: index === current,
    pause: index === current ? pauseState(rollout, step, index) : undefined,
  }));
}

function stepPosition(rollout: Rollout): StepPosition | undefined {
  const { status, spec } = rollout;
  if (status?.canaryRevision === undefined || status.currentStepIndex === undefined) return undefined;
  return { index: status.currentStepIndex, count: effectiveSteps(spec).length };
}

function deploymentView(rollout: Rollout, track: Track, deployment: V1Deployment | undefined): DeploymentView {
  const revision = track === 'stable' ? rollout.status?.stableRevision : rollout.status?.canaryRevision;
  const name = deployment?.metadata?.name ?? deploymentName(rollout.metadata.name, revision ?? track);
  if (deployment === undefined) return { track, name, found: false };
  return present<DeploymentView>({
    track, name, found: true, ready: deployment.status?.readyReplicas ?? 0, desired: desiredReplicas(deployment), revision: deploymentRevision(deployment),
  });
}

function analysisView(rollout: Rollout): AnalysisView | undefined {
  const spec = rollout.spec.analysis;
  const analysis = rollout.status?.analysis;
  if (spec === undefined && analysis === undefined) return undefined;
  return present<AnalysisView>({
    metrics: spec?.metrics?.map((metric) => metric.name) ?? [],
    failureLimit: spec?.failureLimit ?? 0,
    counts: analysis === undefined ? undefined : {
      passed: analysis.passedChecks, failed: analysis.failedChecks, inconclusive: analysis.inconclusiveChecks, errored: analysis.erroredChecks,
    },
    lastRunAt: rfc3339(analysis?.lastRunAt),
    last: (analysis?.last ?? []).map((result) => present<MetricResultView>({
      name: result.name, verdict: result.verdict, dryRun: result.dryRun, value: result.value, limit: result.limit, at: rfc3339(result.at), message: result.message,
    })),
  });
}

function dataPlaneView(rollout: Rollout): DataPlaneView | undefined {
  const dataPlane = rollout.status?.dataPlane;
  if (dataPlane === undefined) return undefined;
  const { state, message, virtualServiceGeneration, canaryWeight, proxies, synced, writtenAt, syncedAt, seconds } = dataPlane;
  return present<DataPlaneView>({
    state, message, virtualServiceGeneration, canaryWeight, proxies, synced, writtenAt: rfc3339(writtenAt), syncedAt: rfc3339(syncedAt), seconds,
  });
}

function managedRouteViews(rollout: Rollout): ManagedRouteView[] {
  return (rollout.status?.managedRoutes ?? []).map((route) => route.type === 'Header'
    ? { name: route.name, type: 'Header', match: route.match as HeaderRouteMatch[] }
    : { name: route.name, type: 'Mirror', match: route.match as MirrorRouteMatch[], percentage: route.percentage ?? DEFAULT_MIRROR_PERCENTAGE });
}

function gateViews(rollout: Rollout): GateView[] | undefined {
  const gates = rollout.status?.gates ?? [];
  if (gates.length === 0) return undefined;
  return gates.map((gate) => present<GateView>({
    name: gate.name, point: gate.point, state: gate.state, message: gate.message, answer: gate.answer, attempts: gate.attempts,
    lastAttemptAt: rfc3339(gate.lastAttemptAt), nextAttemptAt: rfc3339(gate.nextAttemptAt),
    overriddenAt: rfc3339(gate.overriddenAt), overriddenBy: gate.overriddenBy,
  }));
}

/** Every command whose annotation the controller has not acknowledged yet, in the order it handles them. */
export function pendingCommands(rollout: Rollout): PendingCommandView[] {
  const annotations = rollout.metadata.annotations ?? {};
  const acknowledged = rollout.status?.acknowledgedCommands ?? {};
  const order: RolloutCommand[] = ['abort', 'retry', 'promoteFull', 'promote', 'restart'];
  return order.flatMap((command) => {
    const token = annotations[COMMAND_ANNOTATIONS[command]];
    return token === undefined || token === '' || token === acknowledged[command] ? [] : [{ command, token }];
  });
}

/** Right after a spec change, status still describes the previous generation (as `kubectl rollout status` checks). */
function specObserved(rollout: Rollout): boolean {
  const generation = rollout.metadata.generation;
  const observed = rollout.status?.observedGeneration;
  return generation === undefined || (observed !== undefined && observed >= generation);
}

/**
 * The view of a rollout and its two Deployments (undefined: they could not be read). A pure
 * function of the objects, without the time: `now` only matters to the readable view's ages.
 */
export function rolloutStatusView(rollout: Rollout, deployments: TrackDeployments | undefined): RolloutStatusView {
  const { metadata, spec, status } = rollout;
  const rollback = status?.rollback;
  return present<RolloutStatusView>({
    apiVersion: VIEW_API_VERSION,
    kind: STATUS_VIEW_KIND,
    name: metadata.name,
    namespace: metadata.namespace,
    creationTimestamp: rfc3339(metadata.creationTimestamp),
    phase: status?.phase,
    message: status?.message === '' ? undefined : status?.message,
    generation: metadata.generation,
    observedGeneration: status?.observedGeneration,
    specObserved: specObserved(rollout),
    paused: spec.paused === true,
    canaryWeight: status?.canaryWeight,
    dataPlane: dataPlaneView(rollout),
    managedRoutes: managedRouteViews(rollout),
    gates: gateViews(rollout),
    step: stepPosition(rollout),
    steps: stepViews(rollout),
    stableRevision: status?.stableRevision,
    canaryRevision: status?.canaryRevision,
    deployments: deployments === undefined ? undefined : [
      deploymentView(rollout, 'stable', deployments.stable),
      deploymentView(rollout, 'canary', deployments.canary),
    ],
    analysis: analysisView(rollout),
    rollback: rollback === undefined
      ? undefined
      : present<RollbackView>({ reason: rollback.reason, message: rollback.message, at: rfc3339(rollback.at), revision: rollback.revision }),
    conditions: (status?.conditions ?? []).map((condition) => present<ConditionView>({
      type: condition.type, status: condition.status, reason: condition.reason, message: condition.message,
      lastTransitionTime: rfc3339(condition.lastTransitionTime),
    })),
    pendingCommands: pendingCommands(rollout),
  });
}

export function rolloutStatusList(items: RolloutStatusView[]): RolloutStatusListView {
  return { apiVersion: VIEW_API_VERSION, kind: STATUS_LIST_KIND, items };
}
