// Shell completion: `switchboard complete bash|zsh|fish|powershell` prints the script, and the
// shell calls `switchboard complete -- WORDS...` at each TAB. @bomb.sh/tab does both from the
// commander tree (commander has no completion of its own); rollout names are read from the
// cluster, in the namespace and context the words being completed name, just before tab answers.
import tab from '@bomb.sh/tab/commander';
import type { Command } from 'commander';
import { RolloutApi, type TargetOptions } from './rollout-api.ts';

export type RolloutNameLister = (target: TargetOptions) => Promise<string[]>;

const ROLLOUT_ARGUMENT = 'rollout';

/** The rollouts of the namespace; nothing at all when the cluster cannot be asked (TAB must never print errors). */
export const listRolloutNames: RolloutNameLister = async (target) => {
  try {
    const list = await RolloutApi.connect(target).listRollouts(false);
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

/** The words after `complete --`, or undefined when this run is not a completion request. */
function completionWords(rawArgs: readonly string[]): string[] | undefined {
  const complete = rawArgs.indexOf('complete');
  return complete !== -1 && rawArgs[complete + 1] === '--' ? rawArgs.slice(complete + 2) : undefined;
}

/** Call after every command is registered: tab reads the command tree once, here. */
export function registerCompletion(program: Command, listNames: RolloutNameLister = listRolloutNames): void {
  const completion = tab(program);
  const withRolloutArgument = [...completion.commands.values()].filter((command) => command.arguments.has(ROLLOUT_ARGUMENT));
  program.hook('preAction', async () => {
    // commander keeps the arguments as given in rawArgs (untyped); tab itself reads the same.
    const words = completionWords((program as unknown as { rawArgs: string[] }).rawArgs);
    if (words === undefined) return;
    const typed = words.filter((word) => !word.startsWith('-')).join(' ');
    if (!withRolloutArgument.some((command) => typed.startsWith(`${command.value} `))) return;
    const names = await listNames(targetOfWords(words));
    for (const command of withRolloutArgument) {
      const argument = command.arguments.get(ROLLOUT_ARGUMENT);
      if (argument !== undefined) argument.handler = (complete) => names.forEach((name) => complete(name, 'Rollout'));
    }
  });
}
