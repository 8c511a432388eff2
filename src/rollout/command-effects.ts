// What a pending command (commands.ts) does in the state the Rollout is in. The effect and the
// acknowledgement go into one status write, so a command acts exactly once; a command that does
// not apply is acknowledged too, with a status message saying why nothing happened.
import type { UpdateStatusAction } from './actions.ts';
import { PROMOTED_BY_ANNOTATION, type PendingCommand } from './commands.ts';
import { overrideGates } from './gates/gates.ts';
import { desiredReplicas } from './deployments/deployments.ts';
import { isIndefinitePause, stepLabel, type DecideContext, type RolloutState } from './state.ts';
import { advanceStepStatus, emptyAnalysisStatus, promoteFullStatus, rollbackStatus, startRolloutStatus, updateStatus } from './transitions.ts';
import type { RolloutStatus } from './types.ts';

const COMMAND_WORDS: Record<PendingCommand['command'], string> = {
  abort: 'abort',
  retry: 'retry',
  promote: 'promote',
  promoteFull: 'promote --full',
  restart: 'restart',
};

type Effect = { reason: string; message: string; status: RolloutStatus };

function ignored(ctx: DecideContext, pending: PendingCommand, why: string): Effect {
  const message = `${COMMAND_WORDS[pending.command]} ignored: ${why}`;
  return { reason: 'CommandIgnored', message, status: { ...ctx.status, message } };
}

function abort(ctx: DecideContext, state: RolloutState, pending: PendingCommand): Effect {
  if (state.kind !== 'progressing' && state.kind !== 'start' && state.kind !== 'stepsChanged') {
    const why = state.kind === 'promoting' ? 'promotion is already under way; change spec.template back to undo it' : 'no rollout in progress';
    return ignored(ctx, pending, why);
  }
  const message = 'aborted by the user; all traffic goes back to stable and the canary is scaled to zero';
  const status = state.kind === 'start' ? { ...startRolloutStatus(ctx, message) } : ctx.status;
  return { reason: 'Aborted', message, status: rollbackStatus({ ...ctx, status }, 'Aborted', message) };
}

function retry(ctx: DecideContext, state: RolloutState, pending: PendingCommand): Effect {
  if (state.kind !== 'rolledBack') return ignored(ctx, pending, 'only a rolled back or aborted rollout can be retried');
  const message = `retrying revision ${ctx.revision} from step 1`;
  return { reason: 'Retried', message, status: startRolloutStatus(ctx, message) };
}

function promoteFull(ctx: DecideContext, state: RolloutState, pending: PendingCommand): Effect {
  if (state.kind === 'steady' || state.kind === 'firstDeploy' || state.kind === 'end') {
    return ignored(ctx, pending, `revision ${ctx.revision} is already what stable runs`);
  }
  if (state.kind === 'promoting') return ignored(ctx, pending, 'promotion is already under way');
  const message = `promote --full: revision ${ctx.revision} becomes stable now, skipping the remaining steps and analysis`;
  return { reason: 'PromotedFull', message, status: promoteFullStatus(ctx, message) };
}

function promote(ctx: DecideContext, state: RolloutState, pending: PendingCommand): Effect {
  if (state.kind !== 'progressing') return ignored(ctx, pending, 'no rollout step is in progress');
  const by = ctx.rollout.metadata.annotations?.[PROMOTED_BY_ANNOTATION];
  const overridden = overrideGates(ctx.status, ctx.spec.gates ?? [], ctx.now, by);
  if (overridden !== undefined) {
    // A person vouches for the passage the gate would not allow: the rollout goes on from there.
    const gates = overridden.names.map((name) => `"${name}"`).join(', ');
    const message = `promote: gate ${gates} overridden${by === undefined ? '' : ` by ${by}`}; the rollout goes on`;
    return { reason: 'GateOverridden', message, status: { ...overridden.status, message } };
  }
  if (ctx.status.inconclusiveStepIndex === state.stepIndex) {
    // The person vouches for the canary where analysis could not: the step completes.
    const next = state.stepIndex + 1;
    const message = `promote: inconclusive analysis at step ${state.stepIndex + 1} overridden; ${next >= ctx.spec.steps.length ? 'promoting' : `on to step ${stepLabel(next, ctx.spec.steps.length)}`}`;
    const status = advanceStepStatus(ctx, next, message);
    return { reason: 'Promoted', message, status: { ...status, analysis: { ...(status.analysis ?? emptyAnalysisStatus()), consecutiveInconclusive: 0 } } };
  }
  const step = ctx.spec.steps[state.stepIndex];
  if (step?.pause === undefined) {
    const kind = STEP_KIND_NAMES.find((name) => step?.[name] !== undefined) ?? 'setWeight';
    return ignored(ctx, pending, `step ${state.stepIndex + 1} is ${kind}, not a pause; it completes by itself (use promote --full to skip all steps)`);
  }
  const kind = isIndefinitePause(step) ? 'indefinite pause' : `pause ${step.pause.duration}`;
  const message = `promote: step ${state.stepIndex + 1} (${kind}) released; it completes once any analysis it needs has passed`;
  return { reason: 'Promoted', message, status: { ...ctx.status, pauseReleasedStepIndex: state.stepIndex, message } };
}

const STEP_KIND_NAMES = ['setWeight', 'setHeaderRoute', 'setMirrorRoute', 'setCanaryScale'] as const;

/** Records which running Deployments to roll; restart.ts then rolls each, one write at a time. */
function restart(ctx: DecideContext, _state: RolloutState, pending: PendingCommand): Effect {
  const { stableDeployment, canaryDeployment } = ctx.observed;
  const tracks = (['stable', 'canary'] as const).filter((track) => {
    const deployment = track === 'stable' ? stableDeployment : canaryDeployment;
    return deployment !== undefined && desiredReplicas(deployment) > 0;
  });
  if (tracks.length === 0) return ignored(ctx, pending, 'no Deployment has pods to restart');
  const message = `restart: the pods of ${tracks.map((track) => `${ctx.rollout.metadata.name}-${track}`).join(' and ')} are rolled; the revision stays ${ctx.stableRevision ?? ctx.revision}`;
  return { reason: 'Restarted', message, status: { ...ctx.status, message, restart: { token: pending.token, tracks: [...tracks] } } };
}

const EFFECTS = { abort, retry, promoteFull, promote, restart };

function acknowledge(ctx: DecideContext, pending: PendingCommand, effect: Effect): UpdateStatusAction {
  const acknowledgedCommands = { ...ctx.status.acknowledgedCommands, [pending.command]: pending.token };
  const status = { ...effect.status, acknowledgedCommands, observedGeneration: ctx.rollout.metadata.generation };
  return updateStatus(effect.reason, effect.message, status);
}

export function applyCommand(ctx: DecideContext, state: RolloutState, pending: PendingCommand): UpdateStatusAction {
  return acknowledge(ctx, pending, EFFECTS[pending.command](ctx, state, pending));
}

/** Acknowledges the command without acting on it; the status message says why. */
export function ignoreCommand(ctx: DecideContext, pending: PendingCommand, why: string): UpdateStatusAction {
  return acknowledge(ctx, pending, ignored(ctx, pending, why));
}
