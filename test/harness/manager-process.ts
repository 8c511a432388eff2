// `switchboard run` as its own process, the way a cluster runs it: tests kill it to prove that
// state lives in the cluster, the demo runs it next to the local control plane.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from './binaries.ts';
import { rememberProcess } from './processes.ts';

export interface ManagerProcess {
  child: ChildProcess;
  logFile: string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Starts `switchboard run ARGS` on the project's Node, logging to `logFile`; from the sources
 * unless `main` names a compiled entry point (benchmarks: bench/compiled.ts).
 */
export function startManagerProcess(args: string[], logFile: string, main = join(PROJECT_ROOT, 'src', 'cli', 'main.ts')): ManagerProcess {
  const fd = openSync(logFile, 'a');
  // What config/manager's entrypoint sets under its 512Mi limit (old space half of it, 2 MiB
  // semi-spaces, two malloc arenas), so that tests and benchmarks run it as shipped.
  const child = spawn(process.execPath, ['--max-old-space-size=256', '--max-semi-space-size=2', main, 'run', ...args], {
    stdio: ['ignore', fd, fd], env: { ...process.env, MALLOC_ARENA_MAX: '2' },
  });
  closeSync(fd);
  rememberProcess(child.pid);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child, logFile,
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
