// Durations as the CRD accepts them: Go/Prometheus style "90s", "2m", "1h30m" (no fractions,
// no ms), so that the same string works in status messages, CEL's duration() and PromQL ranges.

/** Same expression as the CRD's `pattern` for pause.duration and analysis.interval. */
export const DURATION_PATTERN = /^([0-9]+h)?([0-9]+m)?([0-9]+s)?$/;

/** Milliseconds, or undefined when the text is not such a duration. */
export function parseDuration(text: string): number | undefined {
  const match = DURATION_PATTERN.exec(text);
  if (text === '' || match === null) return undefined;
  const [, hours, minutes, seconds] = match;
  const part = (value: string | undefined): number => (value === undefined ? 0 : Number.parseInt(value, 10));
  return ((part(hours) * 60 + part(minutes)) * 60 + part(seconds)) * 1000;
}

export function addMilliseconds(at: Date, milliseconds: number): Date {
  return new Date(at.getTime() + milliseconds);
}
