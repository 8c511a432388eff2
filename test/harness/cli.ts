// `make cluster-up` / `make cluster-down`, and the supervisor that vitest's global setup starts.
//   up    --dir D   start a control plane, istiod included, in the background (idempotent);
//                   prints istiod's addresses, and last KUBECONFIG=<path>
//   down  --dir D   stop it and remove its data (idempotent)
//   serve --dir D [--parent-pid P]   run it in the foreground until SIGTERM/SIGINT or until P exits
import { spawn } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startControlPlane } from './control-plane.ts';
import { istiodPrograms, type IstiodAddresses } from './istiod.ts';
import { sleep } from './processes.ts';

interface ReadyFile { kubeconfig: string; logDir: string; apiServerUrl: string; istiod: IstiodAddresses; pid: number }

const args = process.argv.slice(2);
const command = args[0];
const flag = (name: string) => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] : undefined; };
const stateDir = resolve(flag('dir') ?? '.cluster');
const readyPath = join(stateDir, 'ready.json');
const pidPath = join(stateDir, 'supervisor.pid');

/** kubectl's --cache-dir for this cluster: see serve(). */
export function discoveryCacheDir(stateDir: string): string {
  return join(stateDir, 'kube-cache');
}

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

function readReady(dir: string): ReadyFile | undefined {
  try {
    const ready = JSON.parse(readFileSync(join(dir, 'ready.json'), 'utf8')) as Partial<ReadyFile>;
    // A control plane started before istiod was part of it is not reused: tests expect istiod.
    return ready.pid !== undefined && alive(ready.pid) && ready.istiod ? ready as ReadyFile : undefined;
  } catch { return undefined; }
}

async function serve(): Promise<void> {
  const parentPid = flag('parent-pid') ? Number(flag('parent-pid')) : undefined;
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(pidPath, String(process.pid));
  const logDir = join(stateDir, 'logs');
  // kubectl caches discovery per host:port; a new cluster on a port an old one used must not
  // inherit the old one's list of resources (its CRDs, or lack of them).
  rmSync(discoveryCacheDir(stateDir), { recursive: true, force: true });
  const cluster = await startControlPlane({ logDir, istiod: true, progress: (m) => console.error(`[cluster] ${m}`) });
  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    console.error('[cluster] stopping');
    await cluster.stop();
    rmSync(readyPath, { force: true });
    rmSync(join(stateDir, 'kubeconfig'), { force: true });
    rmSync(pidPath, { force: true });
    process.exit(0);
  };
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => void shutdown());
  const kubeconfig = join(stateDir, 'kubeconfig');
  copyFileSync(cluster.kubeconfigPath, kubeconfig);
  const { istiod } = cluster;
  if (!istiod) {
    await cluster.stop();
    throw new Error('the local control plane started without istiod');
  }
  const ready: ReadyFile = { kubeconfig, logDir, apiServerUrl: cluster.apiServerUrl, istiod, pid: process.pid };
  writeFileSync(readyPath, JSON.stringify(ready));
  console.error(`[cluster] ready: KUBECONFIG=${kubeconfig}; istiod: ${istiod.httpUrl} (xDS ${istiod.xdsAddress})`);
  // The test runner may die without tearing us down (SIGKILL, crash): never outlive it.
  for (;;) {
    await sleep(1_000);
    if (parentPid !== undefined && !alive(parentPid)) await shutdown();
  }
}

/**
 * Starts `serve` in its own process group and waits until it is ready. A control plane already
 * running for this directory is reused, never started twice: two supervisors would fight over
 * the same ready and pid files, and the older one would be left running unseen.
 */
export async function startInBackground(dir: string, parentPid?: number): Promise<ReadyFile> {
  const running = readReady(dir);
  if (running) return running;
  await stopInBackground(dir); // a supervisor that died before it was ready
  // A first build of istiod takes minutes: here its progress shows, in the supervisor's log it wouldn't.
  istiodPrograms();
  mkdirSync(dir, { recursive: true });
  const logFile = join(dir, 'supervisor.log');
  const fd = openSync(logFile, 'w');
  const child = spawn(process.execPath, [new URL(import.meta.url).pathname, 'serve', '--dir', dir,
    ...(parentPid ? ['--parent-pid', String(parentPid)] : [])], { detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  child.unref();
  for (;;) {
    const ready = readReady(dir);
    if (ready) return ready;
    if (child.exitCode !== null) throw new Error(`the local control plane failed to start; see ${logFile}:\n${readFileSync(logFile, 'utf8').slice(-4000)}`);
    await sleep(300);
  }
}

/** Stops the supervisor and every process in its group. */
export async function stopInBackground(dir: string): Promise<boolean> {
  const pidFile = join(dir, 'supervisor.pid');
  if (!existsSync(pidFile)) return false;
  const pid = Number(readFileSync(pidFile, 'utf8'));
  if (alive(pid)) {
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 100 && alive(pid); i++) await sleep(100);
  }
  // Whatever survived the supervisor (it was SIGKILLed, say) is still in its process group.
  try { process.kill(-pid, 'SIGKILL'); } catch { /* group already gone */ }
  rmSync(pidFile, { force: true });
  rmSync(join(dir, 'ready.json'), { force: true });
  return true;
}

async function main(): Promise<void> {
  switch (command) {
    case 'serve':
      return serve();
    case 'up': {
      const running = readReady(stateDir);
      const ready = running ?? await startInBackground(stateDir);
      console.log(running ? 'a local control plane is already running' : `logs: ${ready.logDir}`);
      console.log(`istiod: ${ready.istiod.httpUrl} (/ready, /debug/*), xDS ${ready.istiod.xdsAddress}`);
      console.log(`KUBECONFIG=${ready.kubeconfig}`);
      return;
    }
    case 'down':
      console.log(await stopInBackground(stateDir) ? 'local control plane stopped' : 'no local control plane was running');
      return;
    default:
      console.error('usage: cli.ts up|down|serve --dir DIR');
      process.exitCode = 2;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
