// Wiring of `switchboard get [ROLLOUT]`: kubectl get's -o wide|name, -A and -w. Without -o, a
// list is the table of `kubectl get rollouts.switchboard.dev` and one rollout the status view (as
// `kubectl argo rollouts get rollout` shows one in full). -o json|yaml print the RolloutStatus
// view (rollout-view.ts), a list of them without a name: `kubectl get -o yaml` prints the objects.
import type { Command } from 'commander';
import type { Rollout } from '../../rollout/types.ts';
import { outputFormat, outputOption } from '../output-option.ts';
import type { RolloutApi, TargetOptions, TrackDeployments } from './rollout-api.ts';
import type { CliOutput } from './rollout-commands.ts';
import { connectRollouts } from './rollout-connect.ts';
import { CLI_ERROR, CliError } from '../rollout-errors.ts';
import { followRollouts, GET_FORMATS, isObjectFormat, objectStream, printObject, RolloutPrinter, type GetFormat } from './rollout-get.ts';
import { formatStatusView } from './rollout-format.ts';
import { rolloutStatusList, rolloutStatusView, type RolloutStatusView } from './rollout-view.ts';

interface GetOptions extends TargetOptions { output?: string; allNamespaces?: boolean; watch?: boolean }

/** Rollouts whose Deployments are read at once for a list's -o json|yaml: enough to be quick, few enough to spare the API server. */
const PARALLEL_READS = 8;

function noneFound(api: RolloutApi, allNamespaces: boolean): string {
  return allNamespaces ? 'No rollouts found.\n' : `No rollouts found in namespace "${api.namespace}".\n`;
}

function readDeployments(api: RolloutApi, rollout: Rollout): Promise<TrackDeployments> {
  return api.readDeployments(rollout, rollout.metadata.namespace || api.namespace);
}

async function statusViews(api: RolloutApi, rollouts: readonly Rollout[]): Promise<RolloutStatusView[]> {
  const views: RolloutStatusView[] = [];
  for (let start = 0; start < rollouts.length; start += PARALLEL_READS) {
    const batch = rollouts.slice(start, start + PARALLEL_READS);
    views.push(...await Promise.all(batch.map(async (rollout) => rolloutStatusView(rollout, await readDeployments(api, rollout)))));
  }
  return views;
}

export function registerGetCommand(program: Command, withTarget: (command: Command) => Command, output: CliOutput, clock: () => Date): void {
  withTarget(program.command('get [rollout]'))
    .description('list the rollouts like `kubectl get rollouts.switchboard.dev`, or show one in full; -w follows changes')
    .addOption(outputOption(GET_FORMATS, 'wide adds columns, name prints rollout.switchboard.dev/NAME, json and yaml a RolloutStatus (docs/operations.md)'))
    .option('-A, --all-namespaces', 'list the rollouts of every namespace')
    .option('-w, --watch', 'after printing, print each rollout again whenever it changes, until interrupted (like kubectl get -w); -o json: one line each')
    .action(async (name: string | undefined, options: GetOptions) => {
      const format = outputFormat(options.output, GET_FORMATS, 'the table (with a name: the status view)');
      const allNamespaces = options.allNamespaces === true;
      if (allNamespaces && name !== undefined) {
        throw new CliError(CLI_ERROR.usage, `-A lists every namespace and cannot be used with a name; drop -A, or pass -n NAMESPACE to get "${name}"`);
      }
      const api = await connectRollouts(options);
      if (options.watch === true) {
        await watchGet(api, name, format, allNamespaces, { output, clock });
        return;
      }
      if (name !== undefined) {
        const rollout = await api.readRollout(name);
        if (format === 'wide' || format === 'name') {
          output.stdout(new RolloutPrinter(format, false, clock).render([rollout]));
          return;
        }
        const view = rolloutStatusView(rollout, await api.readDeployments(rollout));
        output.stdout(format === undefined ? formatStatusView(view, clock()) : printObject(view, format));
        return;
      }
      const list = await api.listRollouts(allNamespaces);
      if (isObjectFormat(format)) output.stdout(printObject(rolloutStatusList(await statusViews(api, list.items)), format));
      else if (list.items.length === 0) output.stderr(noneFound(api, allNamespaces));
      else output.stdout(new RolloutPrinter(format, allNamespaces, clock).render(list.items));
    });
}

async function watchGet(
  api: RolloutApi, name: string | undefined, format: GetFormat | undefined, allNamespaces: boolean,
  { output, clock }: { output: CliOutput; clock: () => Date },
): Promise<void> {
  const scope = name === undefined ? { allNamespaces } : { allNamespaces: false, name };
  let views = 0;
  // The status view and the objects read the Deployments of each rollout that changed.
  const viewOf = async (rollout: Rollout) => {
    const deployments = await readDeployments(api, rollout).catch((error: Error) => {
      output.stderr(`warning: ${error.message}; the Deployments are left out of this view\n`);
      return undefined;
    });
    return rolloutStatusView(rollout, deployments);
  };
  const stream = isObjectFormat(format) ? objectStream(format) : undefined;
  const printer = isObjectFormat(format) ? undefined : new RolloutPrinter(format, allNamespaces, clock);
  const show = async (rollouts: Rollout[]) => {
    if (name === undefined && rollouts.length === 0 && views++ === 0) {
      output.stderr(noneFound(api, allNamespaces));
      return;
    }
    if (stream !== undefined) {
      for (const rollout of rollouts) output.stdout(stream(await viewOf(rollout)));
      return;
    }
    if (name !== undefined && format === undefined) {
      for (const rollout of rollouts) output.stdout(`${views++ === 0 ? '' : '\n'}${formatStatusView(await viewOf(rollout), clock())}`);
      return;
    }
    if (printer !== undefined) output.stdout(printer.render(rollouts));
  };
  await followRollouts({
    list: async () => {
      if (name === undefined) {
        const list = await api.listRollouts(allNamespaces);
        return { items: list.items, resourceVersion: list.metadata?.resourceVersion };
      }
      const rollout = await api.readRollout(name);
      return { items: [rollout], resourceVersion: rollout.metadata.resourceVersion };
    },
    watch: (resourceVersion, onEvent) => api.watchRollouts(scope, resourceVersion, onEvent),
  }, show);
}
