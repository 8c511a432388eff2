// `-o, --output FORMAT` as kubectl spells it. The formats are listed on the option (commander's
// argChoices) so that help and shell completion show them, but checked here rather than by
// commander, so that a wrong one fails with SB_CLI_USAGE like every other bad flag value.
import { Option } from 'commander';
import { CLI_ERROR, CliError } from './rollout-errors.ts';

export function outputOption<T extends string>(formats: readonly T[], description: string): Option {
  const option = new Option('-o, --output <format>', description);
  option.argChoices = [...formats];
  return option;
}

/** The format asked for, or undefined when -o was left out; anything else is a usage error. */
export function outputFormat<T extends string>(text: string | undefined, formats: readonly T[], fallback: string): T | undefined {
  if (text === undefined || (formats as readonly string[]).includes(text)) return text as T | undefined;
  const choices = formats.map((format) => `-o ${format}`).join(', ');
  throw new CliError(CLI_ERROR.usage, `-o ${text} is not an output format here; use ${choices}, or leave -o out for ${fallback}`);
}
