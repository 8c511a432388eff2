// Text layout shared by the rollout views: kubectl's columns and kubectl's ages, so the CLI's
// output reads like `kubectl get` next to it.

/** The width of each column: its widest cell, and at least `minimum` (the widths printed before). */
export function columnWidths(rows: readonly (readonly string[])[], minimum: readonly number[] = []): number[] {
  const widths = [...minimum];
  for (const row of rows) row.forEach((cell, index) => (widths[index] = Math.max(widths[index] ?? 0, cell.length)));
  return widths;
}

/**
 * Columns padded to their widest cell, three spaces apart, as kubectl prints tables. `minimum`
 * keeps rows printed later (get --watch) in line with the table printed first.
 */
export function formatColumns(rows: readonly (readonly string[])[], indent = '', minimum: readonly number[] = []): string {
  const widths = columnWidths(rows, minimum);
  return rows
    .map((row) => indent + row.map((cell, index) => (index === row.length - 1 ? cell : cell.padEnd(widths[index] ?? 0))).join('   ').trimEnd())
    .join('\n');
}

/**
 * kubectl's HumanDuration (k8s.io/apimachinery/pkg/util/duration): "45s", "3m12s", "17m",
 * "5h3m", "3d4h", "120d", "2y30d". Precise when recent, coarse when old.
 */
export function humanDuration(milliseconds: number): string {
  const seconds = Math.trunc(milliseconds / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 60 * 2) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 60 * 3) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) return hours % 24 === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  const years = Math.floor(hours / 24 / 365);
  const days = Math.floor(hours / 24) % 365;
  return years < 8 && days !== 0 ? `${years}y${days}d` : `${years}y`;
}

/** Time since `time` (an RFC 3339 string or a Date), or undefined when there is none. */
export function age(time: string | Date | undefined, now: Date): string | undefined {
  if (time === undefined) return undefined;
  const at = typeof time === 'string' ? Date.parse(time) : time.getTime();
  return Number.isNaN(at) ? undefined : humanDuration(now.getTime() - at);
}

/** A metric value without float noise: integers as they are, others to at most 3 decimals. */
export function formatNumber(value: number | undefined): string {
  if (value === undefined) return '-';
  return Number.isInteger(value) ? String(value) : String(Math.round(value * 1000) / 1000);
}
