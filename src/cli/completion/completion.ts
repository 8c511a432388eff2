// Shell completion as kubectl has it: `switchboard completion bash|zsh|fish|powershell` prints the
// script, and the shell runs `switchboard complete -- WORDS...` at each TAB (kubectl's plugin
// completion, `kubectl_complete-switchboard`, runs the same). `complete bash`, the older spelling,
// still prints the script. Rollout names are read from the cluster, in the namespace and context
// the words name; nothing else at TAB loads the Kubernetes client.
import type { Command } from 'commander';
import { SEVERITIES } from '../../analyze/finding.ts';
import { OUTPUT_FORMATS } from '../../analyze/report.ts';
import { completeWords, formatAnswer, type Candidate } from './completion-engine.ts';
import { completionScript, SHELLS } from './completion-scripts.ts';
import type { TargetOptions } from '../rollouts/rollout-api.ts';
import { processOutput, type CliOutput } from '../rollouts/rollout-commands.ts';
import { connectRollouts } from '../rollouts/rollout-connect.ts';
import { CLI_ERROR, CliError } from '../rollout-errors.ts';

export type RolloutNameLister = (target: TargetOptions) => Promise<string[]>;

const ROLLOUT_ARGUMENT = 'rollout';

/** Values of flags declared where completion cannot list them (analyze's own files). */
const OPTION_VALUES: Record<string, readonly string[]> = {
  'analyze --output': OUTPUT_FORMATS,
  'analyze --fail-on': SEVERITIES,
};

/** The rollouts of the namespace; nothing at all when the cluster cannot be asked (TAB must never print errors). */
export const listRolloutNames: RolloutNameLister = async (target) => {
  try {
    const list = await (await connectRollouts(target)).listRollouts(false);
    return list.items.map((rollout) => rollout.metadata.name).sort();
  } catch {
    return [];
  }
};

/** -n/--namespace, --kubeconfig and --context as written among the words, in either spelling. */
export function targetOfWords(words: readonly string[]): TargetOptions {
  const target: TargetOptions = {};
  const flags: Record<string, keyof TargetOptions> = { '-n': 'namespace', '--namespace': 'namespace', '--kubeconfig': 'kubeconfig', '--context': 'context' };
  words.forEach((word, index) => {
    const [flag, inline] = word.includes('=') ? [word.slice(0, word.indexOf('=')), word.slice(word.indexOf('=') + 1)] : [word, undefined];
    const key = flags[flag];
    const value = inline ?? words[index + 1];
    if (key !== undefined && value !== undefined && value !== '' && !value.startsWith('-')) target[key] = value;
  });
  return target;
}

/** Call after every other command is registered: completion walks the whole tree at each TAB. */
export function registerCompletion(program: Command, listNames: RolloutNameLister = listRolloutNames, output: CliOutput = processOutput): void {
  const name = program.name();
  const printScript = async (shell: string) => output.stdout(await completionScript(shell, name));
  const shellArgument = program.createArgument('<shell>', `the shell to complete in: ${SHELLS.join(', ')}`);
  shellArgument.argChoices = [...SHELLS];
  program
    .command('completion')
    .description(`print the shell completion script, e.g. source <(${name} completion bash)`)
    .addArgument(shellArgument)
    .action(printScript);

  const complete = program.command('complete', { hidden: true }).argument('[words...]');
  complete.action(async (words: string[]) => {
    // commander drops the `--` before the words; rawArgs still has it (untyped, as tab also reads it).
    const rawArgs = (program as unknown as { rawArgs: string[] }).rawArgs;
    const index = rawArgs.indexOf('complete');
    if (rawArgs[index + 1] !== '--') {
      if (words.length === 1 && words[0] !== undefined) return printScript(words[0]);
      throw new CliError(CLI_ERROR.usage, `complete takes the words being completed after --, or a shell: use ${name} completion bash`);
    }
    const answer = await completeWords(program, words, {
      optionValues: (path, flag) => OPTION_VALUES[`${path} ${flag}`],
      argumentValues: async (_path, argument, typed): Promise<Candidate[]> => {
        if (argument !== ROLLOUT_ARGUMENT) return [];
        return (await listNames(targetOfWords(typed))).map((value) => ({ value, description: 'Rollout' }));
      },
    });
    output.stdout(formatAnswer(answer));
  });
}
