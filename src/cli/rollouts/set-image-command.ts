// Wiring of `switchboard set image ROLLOUT CONTAINER=IMAGE...`; the plan is in rollout-set-image.ts.
import type { Command } from 'commander';
import { canonicalJson } from '../../rollout/revision.ts';
import { kubectlJsonPatch } from './rollout-actions.ts';
import type { TargetOptions } from './rollout-api.ts';
import { connectRollouts } from './rollout-connect.ts';
import type { CliOutput } from './rollout-commands.ts';
import { CLI_ERROR, CliError } from '../rollout-errors.ts';
import { parseImageAssignment, planSetImage, setImageLine } from './rollout-set-image.ts';

interface SetImageOptions extends TargetOptions { printKubectl?: boolean }

export function registerSetImageCommand(program: Command, withTarget: (command: Command) => Command, output: CliOutput): void {
  const set = program.command('set').description('change a rollout\'s template (like kubectl set)');
  withTarget(set.command('image <rollout> <assignments...>'))
    .description('set container images in the rollout\'s template: CONTAINER=IMAGE, or *=IMAGE for every container; this starts a rollout')
    .option('--print-kubectl', 'print the equivalent kubectl command (it reads the cluster, changes nothing)')
    .action(async (name: string, assignmentTexts: string[], options: SetImageOptions) => {
      const assignments = assignmentTexts.map(parseImageAssignment);
      const api = await connectRollouts(options);
      const rollout = await api.readRollout(name);
      const plan = planSetImage(rollout, assignments);
      if (options.printKubectl === true) {
        output.stdout(`${kubectlJsonPatch(name, plan.patch, options)}\n`);
        return;
      }
      if (plan.patch.length > 0) {
        try {
          await api.jsonPatchRollout(name, plan.patch);
        } catch (error) {
          // A failed `test` is a bare 422: read again to tell a concurrent template change apart.
          const now = await api.readRollout(name).catch(() => undefined);
          if (now !== undefined && canonicalJson(now.spec.template) !== canonicalJson(rollout.spec.template)) {
            throw new CliError(CLI_ERROR.conflict, `rollout "${name}" in namespace "${api.namespace}": spec.template changed while set image ran; nothing was written, run it again`);
          }
          throw error;
        }
      }
      output.stdout(setImageLine(rollout, plan));
    });
}
