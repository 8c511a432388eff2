import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { registerAnalyzeCommand } from './analyze-command.ts';
import { registerCompletion } from './completion.ts';
import { registerInjectCommand } from './inject-command.ts';
import { registerRolloutCommands } from './rollout-commands.ts';
import { registerRunCommand } from './run-command.ts';

function packageVersion(): string {
  const packageJson = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return packageJson.version;
}

/** Builds the `switchboard` command tree; also installed as `kubectl-switchboard`. */
export function buildProgram(): Command {
  const program = new Command('switchboard')
    .description('Istio sidecar injection and canary rollouts for Kubernetes')
    .version(packageVersion(), '-v, --version')
    .showHelpAfterError();
  registerInjectCommand(program);
  registerRunCommand(program);
  registerRolloutCommands(program);
  registerAnalyzeCommand(program);
  registerCompletion(program);
  return program;
}
