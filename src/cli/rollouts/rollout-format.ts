// The readable views of `switchboard get|status`: pure functions of the objects and the time,
// so that every line is table-tested without a cluster.
import type { V1Deployment } from '@kubernetes/client-node';
import { COMMAND_ANNOTATIONS, type RolloutCommand } from '../../rollout/commands.ts';
import { effectiveSteps } from '../../rollout/defaults.ts';
import { deploymentName, deploymentRevision, desiredReplicas } from '../../rollout/deployments/deployments.ts';
import { parseDuration } from '../../rollout/durations.ts';
import { DEFAULT_MIRROR_PERCENTAGE, describeMatch } from '../../rollout/routing/managed-routes.ts';
import type { AnalysisSpec, AnalysisStatus, Rollout, RolloutStep, Track } from '../../rollout/types.ts';
import type { TrackDeployments } from './rollout-api.ts';
import { age, formatColumns, formatNumber, humanDuration } from './rollout-table.ts';

const LABEL_WIDTH = 16;
const COMMAND_WORDS: Record<RolloutCommand, string> = { promote: 'promote', promoteFull: 'promote --full', abort: 'abort', retry: 'retry', restart: 'restart' };

function field(label: string, value: string): string {
  return `${`${label}:`.padEnd(LABEL_WIDTH)}${value}`;
}

export interface TableOptions {
  /** A NAMESPACE column first, for --all-namespaces. */
  withNamespace?: boolean;
  /** -o wide: what the template runs, the VirtualService it steers, and the status message. */
  wide?: boolean;
}

/** What the rollout runs: its template's images, or the Deployment it takes them from. */
function images(rollout: Rollout): string {
  const ref = rollout.spec.workloadRef;
  if (ref !== undefined) return `deployment/${ref.name}`;
  const spec = rollout.spec.template?.spec;
  return [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])].map((container) => container.image ?? '').filter((image) => image !== '').join(',');
}

/**
 * `kubectl get rollouts.switchboard.dev` with the CRD's printer columns, header first, as cells;
 * -o wide adds IMAGES, VIRTUALSERVICE and MESSAGE.
 */
export function rolloutTableRows(rollouts: readonly Rollout[], now: Date, options: TableOptions = {}): string[][] {
  const header = [
    ...(options.withNamespace ? ['NAMESPACE'] : []), 'NAME', 'PHASE', 'WEIGHT', 'STEP', 'STABLE', 'CANARY', 'AGE',
    ...(options.wide ? ['IMAGES', 'VIRTUALSERVICE', 'MESSAGE'] : []),
  ];
  const rows = rollouts.map((rollout) => {
    const { status, metadata } = rollout;
    return [
      ...(options.withNamespace ? [metadata.namespace ?? ''] : []),
      metadata.name,
      status?.phase ?? '',
      status?.canaryWeight === undefined ? '' : String(status.canaryWeight),
      status?.step ?? '',
      status?.stableRevision ?? '',
      status?.canaryRevision ?? '',
      age(metadata.creationTimestamp, now) ?? '<unknown>',
      ...(options.wide ? [images(rollout), rollout.spec.trafficRouting?.virtualService?.name ?? '', status?.message ?? ''] : []),
    ];
  });
  return [header, ...rows];
}

/** The table as `kubectl get` prints it; a NAMESPACE column for --all-namespaces. */
export function formatRolloutTable(rollouts: readonly Rollout[], now: Date, options: TableOptions = {}): string {
  return `${formatColumns(rolloutTableRows(rollouts, now, options))}\n`;
}

/** Where the pause of the step in progress stands: "1m30s left" or "released by promote". */
function pauseProgress(rollout: Rollout, step: RolloutStep, stepIndex: number, now: Date): string | undefined {
  if (step.pause === undefined) return undefined;
  const { status } = rollout;
  if (status?.pauseReleasedStepIndex === stepIndex) return 'released by promote';
  if (step.pause.duration === undefined) return undefined;
  const started = status?.pauseStartedAt === undefined ? Number.NaN : Date.parse(status.pauseStartedAt);
  const duration = parseDuration(step.pause.duration);
  if (Number.isNaN(started) || duration === undefined) return undefined;
  return `${humanDuration(Math.max(0, started + duration - now.getTime()))} left`;
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

/** The step list with "=>" at the step in progress (none when no rollout is recorded). */
export function formatSteps(rollout: Rollout, now: Date): string[] {
  const current = rollout.status?.canaryRevision === undefined ? undefined : rollout.status.currentStepIndex;
  return effectiveSteps(rollout.spec).map((step, index) => {
    const marker = index === current ? '=>' : '  ';
    const progress = index === current ? pauseProgress(rollout, step, index, now) : undefined;
    return `  ${marker} ${index + 1}. ${describeStep(step)}${progress === undefined ? '' : ` (${progress})`}`;
  });
}

function stepField(rollout: Rollout): string {
  const { status, spec } = rollout;
  if (status?.canaryRevision === undefined || status.currentStepIndex === undefined) return `- (no rollout in progress; ${effectiveSteps(spec).length} steps)`;
  const count = effectiveSteps(spec).length;
  if (status.currentStepIndex >= count) return `${count}/${count}, all steps done`;
  return `${status.currentStepIndex + 1}/${count}`;
}

function deploymentRow(rolloutName: string, track: Track, deployment: V1Deployment | undefined): string[] {
  const name = deploymentName(rolloutName, track);
  if (deployment === undefined) return [name, 'not found', ''];
  const ready = deployment.status?.readyReplicas ?? 0;
  const revision = deploymentRevision(deployment);
  return [name, `${ready}/${desiredReplicas(deployment)} ready`, revision === undefined ? '' : `revision ${revision}`];
}

function analysisCounts(analysis: AnalysisStatus, spec: AnalysisSpec | undefined): string {
  const tolerated = spec?.failureLimit ?? 0;
  return `${analysis.passedChecks} passed, ${analysis.failedChecks} failed (tolerated: ${tolerated}), ` +
    `${analysis.inconclusiveChecks} inconclusive, ${analysis.erroredChecks} errored`;
}

function formatAnalysis(rollout: Rollout, now: Date): string[] {
  const spec = rollout.spec.analysis;
  const analysis = rollout.status?.analysis;
  if (analysis === undefined) {
    return spec === undefined ? [field('Analysis', 'none configured')] : [field('Analysis', `not run yet (metrics: ${spec.metrics.map((m) => m.name).join(', ')})`)];
  }
  const lastRun = age(analysis.lastRunAt, now);
  const lines = [field('Analysis', `${analysisCounts(analysis, spec)}${lastRun === undefined ? '' : `; last run ${lastRun} ago`}`)];
  const results = analysis.last ?? [];
  if (results.length > 0) {
    const rows = results.map((result) => [result.name, formatNumber(result.value), formatNumber(result.limit), result.verdict, result.message]);
    lines.push(formatColumns([['METRIC', 'VALUE', 'LIMIT', 'VERDICT', 'MESSAGE'], ...rows], '  '));
  }
  return lines;
}

function formatConditions(rollout: Rollout, now: Date): string[] {
  const conditions = rollout.status?.conditions ?? [];
  if (conditions.length === 0) return [field('Conditions', 'none')];
  const rows = conditions.map((c) => [c.type, c.status, c.reason, age(c.lastTransitionTime, now) ?? '', c.message]);
  return ['Conditions:', formatColumns([['TYPE', 'STATUS', 'REASON', 'AGE', 'MESSAGE'], ...rows], '  ')];
}

/** Every command whose annotation the controller has not acknowledged yet, in the order it handles them. */
export function pendingCommands(rollout: Rollout): { command: RolloutCommand; token: string }[] {
  const annotations = rollout.metadata.annotations ?? {};
  const acknowledged = rollout.status?.acknowledgedCommands ?? {};
  const order: RolloutCommand[] = ['abort', 'retry', 'promoteFull', 'promote', 'restart'];
  return order.flatMap((command) => {
    const token = annotations[COMMAND_ANNOTATIONS[command]];
    return token === undefined || token === '' || token === acknowledged[command] ? [] : [{ command, token }];
  });
}

function formatPending(rollout: Rollout): string {
  const pending = pendingCommands(rollout);
  if (pending.length === 0) return field('Pending', 'none');
  const listed = pending.map(({ command, token }) => `${COMMAND_WORDS[command]} (token ${token})`).join(', ');
  return field('Pending', `${listed}: not yet acknowledged by the controller`);
}

/** Status written before the controller saw the latest spec describes an older generation. */
function generationNote(rollout: Rollout): string[] {
  const generation = rollout.metadata.generation;
  const observed = rollout.status?.observedGeneration;
  if (generation === undefined || (observed !== undefined && observed >= generation)) return [];
  const seen = observed === undefined ? 'no status written yet' : `status is of generation ${observed}`;
  return [field('Note', `${seen}; the controller has not acted on generation ${generation} yet`)];
}

/** The header and mirror routes the controller has put at the top of the VirtualService. */
function formatRoutes(rollout: Rollout): string[] {
  const routes = rollout.status?.managedRoutes ?? [];
  if (routes.length === 0) return [];
  return [
    'Routes:',
    ...routes.map((route) => route.type === 'Header'
      ? `  header ${route.name}: ${describeMatch(route)} to canary`
      : `  mirror ${route.name}: ${route.percentage ?? DEFAULT_MIRROR_PERCENTAGE}% of ${describeMatch(route)} copied to canary`),
  ];
}

/** `switchboard status NAME`: everything a person needs to decide to promote, wait or abort. */
export function formatRolloutStatus(rollout: Rollout, deployments: TrackDeployments, now: Date): string {
  const { metadata, spec, status } = rollout;
  const lines = [
    field('Name', metadata.name),
    field('Namespace', metadata.namespace),
    field('Phase', status?.phase ?? 'Unknown (the controller has not written a status)'),
    ...(status?.message ? [field('Message', status.message)] : []),
    ...generationNote(rollout),
    ...(spec.paused === true ? [field('Paused', `yes (spec.paused); continue with: switchboard resume ${metadata.name} -n ${metadata.namespace}`)] : []),
    field('Canary weight', status?.canaryWeight === undefined ? '-' : `${status.canaryWeight}%`),
    ...(status?.dataPlane === undefined ? [] : [field('Data plane', `${status.dataPlane.message} (VirtualService generation ${status.dataPlane.virtualServiceGeneration})`)]),
    ...formatRoutes(rollout),
    field('Step', stepField(rollout)),
    'Steps:',
    ...formatSteps(rollout, now),
    field('Stable', status?.stableRevision ?? '-'),
    field('Canary', status?.canaryRevision ?? '-'),
    'Deployments:',
    formatColumns([deploymentRow(metadata.name, 'stable', deployments.stable), deploymentRow(metadata.name, 'canary', deployments.canary)], '  '),
    ...formatAnalysis(rollout, now),
  ];
  const rollback = status?.rollback;
  if (rollback !== undefined) {
    const when = age(rollback.at, now);
    lines.push(field('Rolled back', `${rollback.reason}${when === undefined ? '' : ` ${when} ago`}, revision ${rollback.revision}: ${rollback.message}`));
  }
  lines.push(...formatConditions(rollout, now), formatPending(rollout));
  return `${lines.join('\n')}\n`;
}
