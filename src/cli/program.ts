import { Command } from 'commander';
import { registerAnalyzeCommand } from './analyze/analyze-command.ts';
import { registerCompletion, type RolloutNameLister } from './completion/completion.ts';
import { registerInjectCommand } from './inject/inject-command.ts';
import { processOutput, registerRolloutCommands, type CliOutput } from './rollouts/rollout-commands.ts';
import { packageVersion } from './package-version.ts';
import { RUN_DESCRIPTION } from './run/run-program.ts';
import { registerVersionCommand } from './version-command.ts';

/**
 * Commands whose module is heavy are registered by name and description only, and filled in when
 * they are used. `run` imports the controller, leader election, pino and prom-client, and through
 * them the Kubernetes client: a second and 90 MB that `--help` and every TAB would otherwise pay.
 */
const LAZY_COMMANDS: Record<string, { description: string; load: () => Promise<(command: Command) => void> }> = {
  run: {
    description: RUN_DESCRIPTION,
    load: async () => (await import('./run/run-command.ts')).defineRunCommand,
  },
  // fastify and the Kubernetes client, for the web UI only.
  dashboard: {
    description: 'serve a web UI of the rollouts on 127.0.0.1, acting with your kubeconfig\'s rights',
    load: async () => (await import('../dashboard/dashboard-command.ts')).defineDashboardCommand,
  },
};

const filled = new WeakSet<Command>();

async function fill(command: Command): Promise<void> {
  const lazy = LAZY_COMMANDS[command.name()];
  if (lazy === undefined || filled.has(command)) return;
  filled.add(command);
  (await lazy.load())(command);
}

/**
 * Fills in the lazy commands the words name, so that their options are known before commander
 * parses the words: `run --help`, `help run` and `complete -- run --<TAB>` alike.
 */
export async function prepareFor(program: Command, words: readonly string[]): Promise<void> {
  await Promise.all(program.commands.filter((command) => words.includes(command.name())).map(fill));
}

export interface ProgramOptions {
  output?: CliOutput;
  /** Where TAB completion finds rollout names; the cluster by default. */
  listRolloutNames?: RolloutNameLister;
}

/** Builds the `switchboard` command tree; also installed as `kubectl-switchboard`. */
export function buildProgram({ output = processOutput, listRolloutNames }: ProgramOptions = {}): Command {
  const program = new Command('switchboard')
    .description('Istio sidecar injection and canary rollouts for Kubernetes')
    .version(packageVersion(), '-v, --version')
    .showHelpAfterError();
  registerInjectCommand(program);
  for (const [name, { description }] of Object.entries(LAZY_COMMANDS)) program.command(name).description(description);
  // A program parsed without prepareFor (a test, say) still gets the whole command before it runs.
  program.hook('preSubcommand', (_program, command) => fill(command));
  registerRolloutCommands(program, output);
  registerAnalyzeCommand(program, output);
  registerVersionCommand(program, output);
  registerCompletion(program, listRolloutNames, output);
  return program;
}
