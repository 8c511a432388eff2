// `switchboard get|status|promote|abort|retry|restart|pause|resume|undo ROLLOUT`: the rollout operations,
// also reachable as `kubectl switchboard ...`. Wiring only: views are in rollout-view.ts (the object
// -o json|yaml prints), rollout-format.ts and rollout-get.ts, patches in rollout-actions.ts and
// rollout-undo.ts, API calls in rollout-api.ts (loaded by connectRollouts only when a command runs).
import type { Command } from 'commander';
import { parseDuration } from '../../rollout/durations.ts';
import { registerGetCommand } from './get-command.ts';
import { outputFormat, outputOption } from '../output-option.ts';
import { kubectlEquivalent, kubectlJsonPatch, sendRolloutAction, type RolloutAction } from './rollout-actions.ts';
import type { RolloutApi, TargetOptions } from './rollout-api.ts';
import { connectRollouts } from './rollout-connect.ts';
import { CLI_ERROR, CliError } from '../rollout-errors.ts';
import { formatStatusView } from './rollout-format.ts';
import { objectStream, printObject, type ObjectFormat } from './rollout-get.ts';
import { readUndo, undoRollout } from './rollout-undo.ts';
import { rolloutStatusView } from './rollout-view.ts';
import { watchFailure, watchRollout, type RolloutSnapshot } from './rollout-watch.ts';
import { registerSetImageCommand } from './set-image-command.ts';

export interface CliOutput {
  stdout(text: string): void;
  stderr(text: string): void;
}

export const processOutput: CliOutput = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
};

const STATUS_FORMATS = ['json', 'yaml'] as const;
type OutputFormat = ObjectFormat;
interface StatusOptions extends TargetOptions { output?: string; watch?: boolean; timeout?: string }
interface ActionOptions extends TargetOptions { printKubectl?: boolean; full?: boolean }

export function withTarget(command: Command): Command {
  return command
    .option('-n, --namespace <namespace>', 'namespace of the rollout (default: the kubeconfig context\'s, else "default")')
    .option('--kubeconfig <path>', 'kubeconfig (default: KUBECONFIG, ~/.kube/config or in-cluster)')
    .option('--context <name>', 'kubeconfig context to use (default: the current context)');
}

async function readSnapshot(api: RolloutApi, name: string): Promise<RolloutSnapshot> {
  const rollout = await api.readRollout(name);
  return { rollout, deployments: await api.readDeployments(rollout) };
}

function renderSnapshot(snapshot: RolloutSnapshot, format: OutputFormat | undefined, now: Date): string {
  const view = rolloutStatusView(snapshot.rollout, snapshot.deployments);
  return format === undefined ? formatStatusView(view, now) : printObject(view, format);
}

/** What --watch prints for each change: the status view, blank-line apart, or one object per change (rollout-get.ts). */
export function snapshotPrinter(format: OutputFormat | undefined): (snapshot: RolloutSnapshot, now: Date) => string {
  if (format !== undefined) {
    const stream = objectStream(format);
    return (snapshot) => stream(rolloutStatusView(snapshot.rollout, snapshot.deployments));
  }
  let shown = 0;
  return (snapshot, now) => `${shown++ === 0 ? '' : '\n'}${renderSnapshot(snapshot, undefined, now)}`;
}

async function watchStatus(
  api: RolloutApi, name: string, options: { format: OutputFormat | undefined; timeout: string | undefined; timeoutMs: number | undefined },
  output: CliOutput, clock: () => Date,
): Promise<void> {
  const print = snapshotPrinter(options.format);
  const outcome = await watchRollout({
    read: () => readSnapshot(api, name),
    show: (snapshot) => output.stdout(print(snapshot, clock())),
    sleep: (milliseconds) => new Promise((resolve) => setTimeout(resolve, milliseconds)),
    now: () => clock().getTime(),
    readFailed: (error) => {
      if (!(error instanceof CliError) || error.code !== CLI_ERROR.api) return false;
      output.stderr(`warning: ${error.message}; still watching\n`);
      return true;
    },
  }, options.timeoutMs);
  const failure = watchFailure(outcome, name, api.namespace, options.timeout);
  if (failure !== undefined) throw failure;
}

/** The commands named after their action (promote is apart: --full picks promoteFull). */
const ACTION_COMMANDS: { action: RolloutAction; description: string }[] = [
  { action: 'abort', description: 'roll the rollout in progress back: all traffic to stable, canary scaled to zero' },
  { action: 'retry', description: 'restart a rolled back or aborted rollout from the first step' },
  { action: 'restart', description: 'replace the pods of the running Deployments without a new revision (as kubectl rollout restart)' },
  { action: 'pause', description: 'hold the rollout at its current step (spec.paused=true)' },
  { action: 'resume', description: 'continue a paused rollout (spec.paused=false)' },
];

export function registerRolloutCommands(program: Command, output: CliOutput = processOutput, clock: () => Date = () => new Date()): void {
  registerGetCommand(program, withTarget, output, clock);

  withTarget(program.command('status <rollout>'))
    .description('show where a rollout stands; with --watch, wait until it is Healthy (exit 0), or RolledBack, Aborted, Invalid, Degraded or Inconclusive (exit 1)')
    .addOption(outputOption(STATUS_FORMATS, 'print the RolloutStatus view (docs/operations.md); -o json with --watch: one object per line'))
    .option('-w, --watch', 'poll every 2s and print each change until the rollout settles')
    .option('--timeout <duration>', 'give up waiting after this long, e.g. 10m or 1h30m (exit 1); implies --watch')
    .action(async (name: string, options: StatusOptions) => {
      const format = outputFormat(options.output, STATUS_FORMATS, 'the readable view');
      const timeoutMs = options.timeout === undefined ? undefined : parseDuration(options.timeout);
      if (options.timeout !== undefined && (timeoutMs === undefined || timeoutMs === 0)) {
        throw new CliError(CLI_ERROR.usage, `--timeout ${options.timeout} is not a duration; write e.g. 90s, 10m or 1h30m`);
      }
      const api = await connectRollouts(options);
      if (options.watch !== true && timeoutMs === undefined) {
        output.stdout(renderSnapshot(await readSnapshot(api, name), format, clock()));
        return;
      }
      await watchStatus(api, name, { format, timeout: options.timeout, timeoutMs }, output, clock);
    });

  const runAction = async (name: string, action: RolloutAction, options: ActionOptions): Promise<void> => {
    if (options.printKubectl === true) {
      output.stdout(`${kubectlEquivalent(action, name, options)}\n`);
      return;
    }
    const api = await connectRollouts(options);
    output.stdout(await sendRolloutAction(api, name, action, clock()));
  };

  withTarget(program.command('promote <rollout>'))
    .description('override a gate that holds the rollout, else release the current pause step; with --full, skip every remaining step and analysis and promote now')
    .option('--full', 'promote the canary to stable now, skipping the remaining steps and analysis')
    .option('--print-kubectl', 'print the equivalent kubectl command instead of running it')
    .action((name: string, options: ActionOptions) => runAction(name, options.full === true ? 'promoteFull' : 'promote', options));

  for (const { action, description } of ACTION_COMMANDS) {
    withTarget(program.command(`${action} <rollout>`))
      .description(description)
      .option('--print-kubectl', 'print the equivalent kubectl command instead of running it')
      .action((name: string, options: ActionOptions) => runAction(name, action, options));
  }

  withTarget(program.command('undo <rollout>'))
    .description('set spec.template back to what the stable Deployment runs (with no rollout in progress, the previous kept revision), which rolls back to it')
    .option('--to-revision <revision>', 'an earlier revision whose Deployment is kept (its hash, or a prefix of it): it is scaled back up through the steps')
    .option('--print-kubectl', 'print the equivalent kubectl command (it reads the cluster, changes nothing)')
    .action(async (name: string, options: ActionOptions & { toRevision?: string }) => {
      const api = await connectRollouts(options);
      if (options.printKubectl !== true) {
        output.stdout(await undoRollout(api, name, options.toRevision));
        return;
      }
      const { plan } = await readUndo(api, name, options.toRevision);
      output.stdout(`${kubectlJsonPatch(name, plan.patch, options)}\n`);
    });

  registerSetImageCommand(program, withTarget, output);
}
