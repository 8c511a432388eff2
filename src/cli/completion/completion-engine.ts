// What TAB offers, from the commander command tree and the words typed so far: subcommands, flags,
// a flag's values (its listed formats, file names for a path), and positional arguments. The
// answer follows cobra's completion protocol, which kubectl's plugin completion also speaks: one
// candidate per line (value, TAB, description) and a last line `:DIRECTIVE`.
import type { Argument, Command, Option } from 'commander';

export interface Candidate {
  value: string;
  description: string;
}

/** cobra's ShellCompDirective bits; 0 lets the shell complete file names when no candidate fits. */
export const DIRECTIVE = { default: 0, error: 1, noSpace: 2, noFileCompletion: 4, filterDirectories: 16 } as const;

export interface CompletionAnswer {
  candidates: Candidate[];
  directive: number;
}

export interface CompletionSources {
  /** Values of options that list none themselves (commander's argChoices), by command path and long flag. */
  optionValues?: (commandPath: string, flag: string) => readonly string[] | undefined;
  /** Values of a positional argument, e.g. rollout names read from the cluster the words name. */
  argumentValues?: (commandPath: string, argument: string, words: readonly string[]) => Promise<Candidate[]>;
}

// The value placeholders that mean a path: the shell completes file or directory names there.
const FILE_VALUE = /<(path|file)>/;
const DIRECTORY_VALUE = /<(dir|directory)>/;

function visibleOptions(command: Command): readonly Option[] {
  return command.createHelp().visibleOptions(command);
}

function visibleCommands(command: Command): readonly Command[] {
  return command.createHelp().visibleCommands(command);
}

/** The option a word names, on the command or the commands above it; `--flag=value` names `--flag`. */
function findOption(command: Command, word: string): Option | undefined {
  const flag = word.includes('=') ? word.slice(0, word.indexOf('=')) : word;
  for (let current: Command | null = command; current !== null; current = current.parent) {
    const options = [...current.options, ...visibleOptions(current)];
    const found = options.find((option) => option.long === flag || option.short === flag);
    if (found !== undefined) return found;
  }
  return undefined;
}

const takesValue = (option: Option) => option.required;

function commandPath(command: Command): string {
  const names: string[] = [];
  for (let current: Command | null = command; current?.parent; current = current.parent) names.unshift(current.name());
  return names.join(' ');
}

function matching(candidates: readonly Candidate[], prefix: string): Candidate[] {
  const seen = new Set<string>();
  return candidates.filter((candidate) => candidate.value.startsWith(prefix) && !seen.has(candidate.value) && seen.add(candidate.value));
}

function optionValueAnswer(command: Command, option: Option, prefix: string, sources: CompletionSources): CompletionAnswer {
  if (DIRECTORY_VALUE.test(option.flags)) return { candidates: [], directive: DIRECTIVE.filterDirectories };
  if (FILE_VALUE.test(option.flags)) return { candidates: [], directive: DIRECTIVE.default };
  const values = option.argChoices ?? sources.optionValues?.(commandPath(command), option.long ?? option.short ?? '') ?? [];
  return { candidates: matching(values.map((value) => ({ value, description: '' })), prefix), directive: DIRECTIVE.noFileCompletion };
}

interface Position {
  command: Command;
  positionals: number;
  /** The option whose value the word being completed is. */
  valueOf: Option | undefined;
}

/** Walks the words before the one being completed: which command, how many arguments, a pending option value. */
function locate(program: Command, before: readonly string[]): Position {
  let command = program;
  let positionals = 0;
  let valueOf: Option | undefined;
  let operandsOnly = false;
  for (const word of before) {
    if (valueOf !== undefined) {
      valueOf = undefined;
      continue;
    }
    if (!operandsOnly && word === '--') {
      operandsOnly = true;
      continue;
    }
    if (!operandsOnly && word.startsWith('-') && word !== '-') {
      const option = findOption(command, word);
      if (option !== undefined && takesValue(option) && !word.includes('=')) valueOf = option;
      continue;
    }
    const subcommand = positionals === 0 && !operandsOnly ? command.commands.find((sub) => sub.name() === word || sub.aliases().includes(word)) : undefined;
    if (subcommand !== undefined) command = subcommand;
    else positionals += 1;
  }
  return { command, positionals, valueOf };
}

function argumentAt(command: Command, index: number): Argument | undefined {
  const declared = command.registeredArguments;
  const last = declared.at(-1);
  return declared[index] ?? (last?.variadic ? last : undefined);
}

/** The candidates for the last word, the one the cursor is on ('' after a space). */
export async function completeWords(program: Command, words: readonly string[], sources: CompletionSources = {}): Promise<CompletionAnswer> {
  const current = words.at(-1) ?? '';
  const { command, positionals, valueOf } = locate(program, words.slice(0, -1));
  if (valueOf !== undefined) return optionValueAnswer(command, valueOf, current, sources);
  if (current.startsWith('-') && current.includes('=')) {
    const option = findOption(command, current);
    const prefix = current.slice(current.indexOf('=') + 1);
    return option === undefined ? { candidates: [], directive: DIRECTIVE.noFileCompletion } : optionValueAnswer(command, option, prefix, sources);
  }
  if (current.startsWith('-')) {
    const flags = visibleOptions(command).flatMap((option) => [option.long, option.short]
      .filter((flag): flag is string => flag !== undefined)
      .map((flag) => ({ value: flag, description: option.description })));
    return { candidates: matching(flags, current), directive: DIRECTIVE.noFileCompletion };
  }
  const candidates: Candidate[] = positionals > 0 ? [] : visibleCommands(command).map((sub) => ({ value: sub.name(), description: sub.description() }));
  const argument = argumentAt(command, positionals);
  if (argument !== undefined) {
    const choices = argument.argChoices?.map((value) => ({ value, description: '' }));
    candidates.push(...(choices ?? (await sources.argumentValues?.(commandPath(command), argument.name(), words)) ?? []));
  }
  return { candidates: matching(candidates, current), directive: DIRECTIVE.noFileCompletion };
}

/** The answer as the shell scripts read it. */
export function formatAnswer(answer: CompletionAnswer): string {
  const lines = answer.candidates.map((candidate) => (candidate.description === '' ? candidate.value : `${candidate.value}\t${candidate.description}`));
  return [...lines, `:${answer.directive}`].join('\n') + '\n';
}
