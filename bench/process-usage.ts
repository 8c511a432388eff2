// CPU time and peak memory of a process, from the kernel's own accounting (Linux /proc).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let clockTicksPerSecond: number | undefined;
function ticksPerSecond(): number {
  clockTicksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  return clockTicksPerSecond;
}

/** User plus system CPU seconds the process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which may itself hold spaces and parentheses.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const [utime, stime] = [Number(fields[11]), Number(fields[12])];
  return (utime + stime) / ticksPerSecond();
}

/** The process's peak resident set size since it started (VmHWM), in bytes. */
export function peakRssBytes(pid: number): number {
  return statusKilobytes(pid, 'VmHWM') * 1024;
}

/** The process's resident set size now (VmRSS), in bytes. */
export function rssBytes(pid: number): number {
  return statusKilobytes(pid, 'VmRSS') * 1024;
}

function statusKilobytes(pid: number, field: string): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
  if (!match) throw new Error(`/proc/${pid}/status has no ${field} line`);
  return Number(match[1]);
}
