// `switchboard run`, the manager, is the one long-lived process. Started with `run` first, it builds
// a program of that command alone: the other commands' modules (the analyzer, the rollout views,
// yaml) would add about 7 MB to every replica's resident size for nothing.
import { Command } from 'commander';
import { packageVersion } from '../package-version.ts';

export const RUN_DESCRIPTION = 'run the injector webhook and the rollout controller';

export async function buildRunProgram(): Promise<Command> {
  const { defineRunCommand } = await import('./run-command.ts');
  const program = new Command('switchboard').version(packageVersion(), '-v, --version').showHelpAfterError();
  defineRunCommand(program.command('run').description(RUN_DESCRIPTION));
  return program;
}
