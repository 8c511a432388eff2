// Durations in `run`'s flags, as kubebuilder's managers write them.
import { InvalidArgumentError } from 'commander';

/** "15s", "500ms", "1m" as milliseconds. */
export function parseFlagDuration(text: string): number {
  const match = /^([0-9]+)(ms|s|m)$/.exec(text);
  if (!match) throw new InvalidArgumentError(`"${text}" is not a duration: write a whole number followed by ms, s or m, such as 15s`);
  const unit = { ms: 1, s: 1000, m: 60_000 }[match[2] as 'ms' | 's' | 'm'];
  return Number(match[1]) * unit;
}
