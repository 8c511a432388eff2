// Servers under load run as child processes, one process each: the kernel's CPU and memory
// accounting for the process is then the server's alone, and the load generator stays off its
// event loop. Every child started here is stopped when the bench ends, fails or is interrupted.
import { spawn, type ChildProcess } from 'node:child_process';

export interface ChildServer {
  name: string;
  port: number;
  pid: number;
  stop(): Promise<void>;
}

/**
 * How config/manager/manager.yaml starts Node under its 512Mi limit: old space half the limit,
 * 2 MiB semi-spaces, two malloc arenas. Node servers under load run with the same, so that their
 * memory is what a replica's would be.
 */
export function nodeAsShipped(script: string, args: string[]): { command: string; args: string[]; env: NodeJS.ProcessEnv } {
  return {
    command: process.execPath,
    args: ['--max-old-space-size=256', '--max-semi-space-size=2', script, ...args],
    env: { ...process.env, MALLOC_ARENA_MAX: '2' },
  };
}

const running = new Set<ChildProcess>();
const stopAllThenExit = () => {
  for (const child of running) child.kill('SIGKILL');
  process.exit(130);
};
const killLeftovers = () => {
  for (const child of running) child.kill('SIGKILL');
};

function track(child: ChildProcess): void {
  if (running.size === 0) {
    process.on('SIGINT', stopAllThenExit);
    process.on('SIGTERM', stopAllThenExit);
    process.on('exit', killLeftovers);
  }
  running.add(child);
  child.once('exit', () => {
    running.delete(child);
    if (running.size === 0) {
      process.off('SIGINT', stopAllThenExit);
      process.off('SIGTERM', stopAllThenExit);
      process.off('exit', killLeftovers);
    }
  });
}

/** Starts a server that prints the port it listens on as its first line of output. */
export async function startChildServer(name: string, command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<ChildServer> {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  track(child);
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const port = await new Promise<number>((resolve, reject) => {
    let stdout = '';
    const onData = (chunk: Buffer) => {
      stdout += chunk.toString();
      const newline = stdout.indexOf('\n');
      if (newline < 0) return;
      const line = stdout.slice(0, newline).trim();
      child.stdout!.off('data', onData);
      child.stdout!.resume();
      if (/^\d+$/.test(line)) resolve(Number(line));
      else reject(new Error(`${name} printed "${line}" where its port was expected`));
    };
    child.stdout!.on('data', onData);
    child.once('error', (error) => reject(new Error(`${name} could not be started (${command}): ${error.message}`)));
    // 'close' rather than 'exit': it comes after the child's stderr has been read to the end.
    child.once('close', (code, signal) => reject(new Error(`${name} exited (${signal ?? code}) before printing its port: ${stderr.trim()}`)));
  }).catch(async (error: unknown) => {
    child.kill('SIGKILL');
    throw error;
  });
  return {
    name, port, pid: child.pid!,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const forced = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(forced);
    },
  };
}
