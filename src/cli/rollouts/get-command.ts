// Wiring of `switchboard get [ROLLOUT]`: kubectl get's -o wide|name|json|yaml, -A and -w. Without
// -o, a list is the table of `kubectl get rollouts.switchboard.dev` and one rollout the status view
// (as `kubectl argo rollouts get rollout` shows one in full).
import type { Command } from 'commander';
import type { Rollout } from '../../rollout/types.ts';
import { outputFormat, outputOption } from '../output-option.ts';
import type { RolloutApi, TargetOptions } from './rollout-api.ts';
import type { CliOutput } from './rollout-commands.ts';
import { connectRollouts } from './rollout-connect.ts';
import { CLI_ERROR, CliError } from '../rollout-errors.ts';
import { followRollouts, GET_FORMATS, printObject, RolloutPrinter, type GetFormat } from './rollout-get.ts';
import { formatRolloutStatus } from './rollout-format.ts';

interface GetOptions extends TargetOptions { output?: string; allNamespaces?: boolean; watch?: boolean }

function noneFound(api: RolloutApi, allNamespaces: boolean): string {
  return allNamespaces ? 'No rollouts found.\n' : `No rollouts found in namespace "${api.namespace}".\n`;
}

export function registerGetCommand(program: Command, withTarget: (command: Command) => Command, output: CliOutput, clock: () => Date): void {
  withTarget(program.command('get [rollout]'))
    .description('list the rollouts like `kubectl get rollouts.switchboard.dev`, or show one in full; -w follows changes')
    .addOption(outputOption(GET_FORMATS, 'wide adds columns, name prints rollout.switchboard.dev/NAME, json and yaml print the objects'))
    .option('-A, --all-namespaces', 'list the rollouts of every namespace')
    .option('-w, --watch', 'after printing, print each rollout again whenever it changes, until interrupted (like kubectl get -w)')
    .action(async (name: string | undefined, options: GetOptions) => {
      const format = outputFormat(options.output, GET_FORMATS, 'the table (with a name: the status view)');
      const allNamespaces = options.allNamespaces === true;
      if (allNamespaces && name !== undefined) {
        throw new CliError(CLI_ERROR.usage, `-A lists every namespace and cannot be used with a name; drop -A, or pass -n NAMESPACE to get "${name}"`);
      }
      const api = await connectRollouts(options);
      const printer = new RolloutPrinter(format, allNamespaces, clock);
      if (options.watch === true) {
        await watchGet(api, name, format, printer, allNamespaces, { output, clock });
        return;
      }
      if (name !== undefined) {
        const rollout = await api.readRollout(name);
        if (format === undefined) output.stdout(formatRolloutStatus(rollout, await api.readDeployments(name), clock()));
        else output.stdout(printer.render([rollout]));
        return;
      }
      const list = await api.listRollouts(allNamespaces);
      if (format === 'json' || format === 'yaml') output.stdout(printObject(list, format));
      else if (list.items.length === 0) output.stderr(noneFound(api, allNamespaces));
      else output.stdout(printer.render(list.items));
    });
}

async function watchGet(
  api: RolloutApi, name: string | undefined, format: GetFormat | undefined, printer: RolloutPrinter, allNamespaces: boolean,
  { output, clock }: { output: CliOutput; clock: () => Date },
): Promise<void> {
  const scope = name === undefined ? { allNamespaces } : { allNamespaces: false, name };
  let views = 0;
  // One rollout without -o is the status view, which reads its Deployments each time it changes.
  const show = async (rollouts: Rollout[]) => {
    if (name === undefined && rollouts.length === 0 && views++ === 0) {
      output.stderr(noneFound(api, allNamespaces));
      return;
    }
    if (name !== undefined && format === undefined) {
      for (const rollout of rollouts) {
        const deployments = await api.readDeployments(name).catch((error: Error) => {
          output.stderr(`warning: ${error.message}; the Deployments are left out of this view\n`);
          return { stable: undefined, canary: undefined };
        });
        output.stdout(`${views++ === 0 ? '' : '\n'}${formatRolloutStatus(rollout, deployments, clock())}`);
      }
      return;
    }
    output.stdout(printer.render(rollouts));
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
