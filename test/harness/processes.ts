import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export interface ManagedProcess {
  name: string;
  child: ChildProcess;
  logFile: string;
  exited: Promise<number | null>;
}

/** Starts a program with stdout and stderr going to `<logDir>/<name>.log`. */
export function startProcess(name: string, command: string, args: string[], logDir: string): ManagedProcess {
  const logFile = join(logDir, `${name}.log`);
  const fd = openSync(logFile, 'a');
  const child = spawn(command, args, { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  rememberProcess(child.pid);
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? (signal ? -1 : null)));
    child.on('error', () => resolve(-1));
  });
  return { name, child, logFile, exited };
}

export async function stopProcess(process: ManagedProcess, graceMs = 5_000): Promise<void> {
  if (process.child.exitCode !== null || process.child.signalCode !== null) return;
  process.child.kill('SIGTERM');
  const timer = setTimeout(() => process.child.kill('SIGKILL'), graceMs);
  await process.exited;
  clearTimeout(timer);
}

export function tailOf(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `check` until it returns true; fails early when a watched process dies, naming its log.
 * The timeout error names what never happened, the last error `check` threw, and `logs`.
 */
export async function waitFor(what: string, check: () => Promise<boolean>, options: {
  timeoutMs: number;
  intervalMs?: number;
  watch?: ManagedProcess[];
  logs?: string;
}): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError: unknown;
  for (;;) {
    for (const p of options.watch ?? []) {
      if (p.child.exitCode !== null || p.child.signalCode !== null) {
        throw new Error(`${p.name} exited while waiting for ${what}; its log (${p.logFile}) ends with:\n${tailOf(p.logFile)}`);
      }
    }
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const cause = lastError instanceof Error ? `; last error: ${lastError.message}` : '';
      const logs = options.logs ?? (options.watch ?? []).map((p) => p.logFile).join(', ');
      throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${what}${cause}${logs ? `; see ${logs}` : ''}`);
    }
    await sleep(options.intervalMs ?? 250);
  }
}

/**
 * Test runs note the processes their tests start (Prometheus, controllers) in the file named by
 * SWITCHBOARD_PID_REGISTRY, so that a run killed too hard to clean up is cleaned up by the next.
 */
export function rememberProcess(pid: number | undefined): void {
  const registry = process.env.SWITCHBOARD_PID_REGISTRY;
  if (registry && pid) appendFileSync(registry, `${pid} ${startTimeOf(pid)}\n`);
}

/** The kernel's start time of a process (Linux): a pid reused by another program won't match it. */
function startTimeOf(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
  } catch {
    return '';
  }
}

/** Likewise for a temp dir that only its owner's clean-up would remove. */
export function rememberDirectory(path: string): void {
  const registry = process.env.SWITCHBOARD_PID_REGISTRY;
  if (registry) appendFileSync(registry, `dir:${path}\n`);
}

export function killRememberedProcesses(registry: string): void {
  let entries: string[] = [];
  try {
    entries = readFileSync(registry, 'utf8').split('\n').filter(Boolean);
  } catch {
    return;
  }
  for (const entry of entries.filter((e) => !e.startsWith('dir:'))) {
    const [pid, started] = entry.split(' ');
    if (!started || startTimeOf(Number(pid)) !== started) continue;
    try { process.kill(Number(pid), 'SIGKILL'); } catch { /* already gone */ }
  }
  for (const entry of entries.filter((e) => e.startsWith('dir:'))) rmSync(entry.slice(4), { recursive: true, force: true });
  rmSync(registry, { force: true });
}
