// The readable views of `switchboard get|status`: pure functions of the objects and the time,
// so that every line is table-tested without a cluster. The status view is drawn from the
// RolloutStatusView alone (rollout-view.ts), the object -o json|yaml prints.
import type { RolloutCommand } from '../../rollout/commands.ts';
import { describeMatch } from '../../rollout/routing/managed-routes.ts';
import type { Rollout } from '../../rollout/types.ts';
import type { TrackDeployments } from './rollout-api.ts';
import { rolloutStatusView, stepViews, type AnalysisView, type DeploymentView, type RolloutStatusView, type StepView } from './rollout-view.ts';
import { age, formatColumns, formatNumber, humanDuration } from './rollout-table.ts';

export { pendingCommands } from './rollout-view.ts';

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
      ...(options.wide ? [images(rollout), virtualServices(rollout), status?.message ?? ''] : []),
    ];
  });
  return [header, ...rows];
}

/** The table as `kubectl get` prints it; a NAMESPACE column for --all-namespaces. */
export function formatRolloutTable(rollouts: readonly Rollout[], now: Date, options: TableOptions = {}): string {
  return `${formatColumns(rolloutTableRows(rollouts, now, options))}\n`;
}

/** Where the pause of the step in progress stands: "1m30s left" or "released by promote". */
function pauseProgress(pause: StepView['pause'], now: Date): string | undefined {
  if (pause === undefined) return undefined;
  if (pause.released) return 'released by promote';
  const ends = pause.endsAt === undefined ? Number.NaN : Date.parse(pause.endsAt);
  return Number.isNaN(ends) ? undefined : `${humanDuration(Math.max(0, ends - now.getTime()))} left`;
}

function formatStepViews(steps: readonly StepView[], now: Date): string[] {
  return steps.map((step, index) => {
    const progress = step.current ? pauseProgress(step.pause, now) : undefined;
    return `  ${step.current ? '=>' : '  '} ${index + 1}. ${step.description}${progress === undefined ? '' : ` (${progress})`}`;
  });
}

/** The step list with "=>" at the step in progress (none when no rollout is recorded). */
export function formatSteps(rollout: Rollout, now: Date): string[] {
  return formatStepViews(stepViews(rollout), now);
}

function stepField(view: RolloutStatusView): string {
  const { step, steps } = view;
  if (step === undefined) return `- (no rollout in progress; ${steps.length} steps)`;
  if (step.index >= step.count) return `${step.count}/${step.count}, all steps done`;
  return `${step.index + 1}/${step.count}`;
}

function deploymentRow(deployment: DeploymentView): string[] {
  if (!deployment.found) return [deployment.name, 'not found', ''];
  return [deployment.name, `${deployment.ready ?? 0}/${deployment.desired ?? 0} ready`, deployment.revision === undefined ? '' : `revision ${deployment.revision}`];
}

function formatDeployments(deployments: readonly DeploymentView[] | undefined): string[] {
  if (deployments === undefined) return [field('Deployments', 'unknown (they could not be read)')];
  return ['Deployments:', formatColumns(deployments.map(deploymentRow), '  ')];
}

function formatAnalysis(analysis: AnalysisView | undefined, now: Date): string[] {
  if (analysis === undefined) return [field('Analysis', 'none configured')];
  const { counts } = analysis;
  if (counts === undefined) return [field('Analysis', `not run yet (metrics: ${analysis.metrics.join(', ')})`)];
  const lastRun = age(analysis.lastRunAt, now);
  const summary = `${counts.passed} passed, ${counts.failed} failed (tolerated: ${analysis.failureLimit}), ` +
    `${counts.inconclusive} inconclusive, ${counts.errored} errored${lastRun === undefined ? '' : `; last run ${lastRun} ago`}`;
  const lines = [field('Analysis', summary)];
  if (analysis.last.length > 0) {
    const rows = analysis.last.map((result) => [result.name, formatNumber(result.value), formatNumber(result.limit), result.verdict, result.message]);
    lines.push(formatColumns([['METRIC', 'VALUE', 'LIMIT', 'VERDICT', 'MESSAGE'], ...rows], '  '));
  }
  return lines;
}

function formatConditions(view: RolloutStatusView, now: Date): string[] {
  if (view.conditions.length === 0) return [field('Conditions', 'none')];
  const rows = view.conditions.map((c) => [c.type, c.status, c.reason, age(c.lastTransitionTime, now) ?? '', c.message]);
  return ['Conditions:', formatColumns([['TYPE', 'STATUS', 'REASON', 'AGE', 'MESSAGE'], ...rows], '  ')];
}

function formatPending(view: RolloutStatusView): string {
  if (view.pendingCommands.length === 0) return field('Pending', 'none');
  const listed = view.pendingCommands.map(({ command, token }) => `${COMMAND_WORDS[command]} (token ${token})`).join(', ');
  return field('Pending', `${listed}: not yet acknowledged by the controller`);
}

/** Status written before the controller saw the latest spec describes an older generation. */
function generationNote(view: RolloutStatusView): string[] {
  if (view.specObserved) return [];
  const seen = view.observedGeneration === undefined ? 'no status written yet' : `status is of generation ${view.observedGeneration}`;
  return [field('Note', `${seen}; the controller has not acted on generation ${view.generation} yet`)];
}

function formatDataPlane({ dataPlane }: RolloutStatusView): string[] {
  return dataPlane === undefined ? [] : [field('Data plane', `${dataPlane.message} (VirtualService generation ${dataPlane.virtualServiceGeneration})`)];
}

/** The header and mirror routes the controller has put at the top of the VirtualService. */
function formatRoutes(view: RolloutStatusView): string[] {
  if (view.managedRoutes.length === 0) return [];
  return [
    'Routes:',
    ...view.managedRoutes.map((route) => route.type === 'Header'
      ? `  header ${route.name}: ${describeMatch(route)} to canary`
      : `  mirror ${route.name}: ${route.percentage}% of ${describeMatch(route)} copied to canary`),
  ];
}

/** Each holding gate, its state and what it said; the Rollout's message already names the one that holds. */
function formatGates(view: RolloutStatusView, now: Date): string[] {
  if (view.gates === undefined) return [];
  return ['Gates:', ...view.gates.map((gate) => {
    const said = gate.answer === undefined ? '' : `, last answer ${gate.answer}`;
    const overridden = gate.overriddenBy === undefined ? '' : ` by ${gate.overriddenBy}`;
    const next = gate.nextAttemptAt === undefined ? '' : `, asked again ${Date.parse(gate.nextAttemptAt) <= now.getTime() ? 'now' : `at ${gate.nextAttemptAt}`}`;
    return `  ${gate.name} (${gate.point}): ${gate.state}${overridden}${said}${next}`;
  })];
}

/** The status view from the RolloutStatusView alone: whatever it shows, -o json shows too. */
export function formatStatusView(view: RolloutStatusView, now: Date): string {
  const lines = [
    field('Name', view.name),
    field('Namespace', view.namespace),
    field('Phase', view.phase ?? 'Unknown (the controller has not written a status)'),
    ...(view.message === undefined ? [] : [field('Message', view.message)]),
    ...generationNote(view),
    ...(view.paused ? [field('Paused', `yes (spec.paused); continue with: switchboard resume ${view.name} -n ${view.namespace}`)] : []),
    field('Canary weight', view.canaryWeight === undefined ? '-' : `${view.canaryWeight}%`),
    ...formatDataPlane(view),
    ...formatRoutes(view),
    ...formatGates(view, now),
    field('Step', stepField(view)),
    'Steps:',
    ...formatStepViews(view.steps, now),
    field('Stable', view.stableRevision ?? '-'),
    field('Canary', view.canaryRevision ?? '-'),
    ...formatDeployments(view.deployments),
    ...formatAnalysis(view.analysis, now),
  ];
  const { rollback } = view;
  if (rollback !== undefined) {
    const when = age(rollback.at, now);
    lines.push(field('Rolled back', `${rollback.reason}${when === undefined ? '' : ` ${when} ago`}, revision ${rollback.revision}: ${rollback.message}`));
  }
  lines.push(...formatConditions(view, now), formatPending(view));
  return `${lines.join('\n')}\n`;
}

/** `switchboard status NAME`: everything a person needs to decide to promote, wait or abort. */
export function formatRolloutStatus(rollout: Rollout, deployments: TrackDeployments | undefined, now: Date): string {
  return formatStatusView(rolloutStatusView(rollout, deployments), now);
}

/** The VirtualServices of spec.trafficRouting, comma-separated; one of another namespace as namespace/name. */
function virtualServices(rollout: Rollout): string {
  const routing = rollout.spec.trafficRouting;
  const refs = routing?.virtualServices ?? (routing?.virtualService === undefined ? [] : [routing.virtualService]);
  return refs.map((ref) => (ref.namespace === undefined || ref.namespace === rollout.metadata.namespace ? ref.name : `${ref.namespace}/${ref.name}`)).join(',');
}
