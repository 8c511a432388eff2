// A real Alertmanager (Debian's prometheus-alertmanager) on a free loopback port, alone (no
// gossip), with the given route and webhook receivers, its state in a temp dir removed on stop.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { freePort } from './ports.ts';
import { rememberDirectory, startProcess, stopProcess, waitFor, type ManagedProcess } from './processes.ts';

export interface RunningAlertmanager {
  url: string;
  logFile: string;
  /** For waits that should fail at once if it dies. */
  process: ManagedProcess;
  stop(): Promise<void>;
}

/** The program's Debian name first, then upstream's; ALERTMANAGER=path overrides both. */
export function alertmanagerBinary(): string | undefined {
  const explicit = process.env.ALERTMANAGER;
  if (explicit) return explicit;
  for (const name of ['prometheus-alertmanager', 'alertmanager']) {
    try {
      const found = execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();
      if (found !== '') return found;
    } catch { /* not this one */ }
  }
  return undefined;
}

/** `config` is Alertmanager's configuration file (route, receivers), as an object. */
export async function startAlertmanager(options: { config: object; logDir: string }): Promise<RunningAlertmanager> {
  const binary = alertmanagerBinary();
  if (binary === undefined) {
    throw new Error('Alertmanager is not installed: run hack/install-prometheus.sh prometheus-alertmanager (make unit does) or set ALERTMANAGER=/path/to/alertmanager');
  }
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-alertmanager-'));
  rememberDirectory(dir);
  mkdirSync(options.logDir, { recursive: true });
  writeFileSync(join(dir, 'alertmanager.yml'), stringify(options.config));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const process = startProcess('alertmanager', binary, [
    `--config.file=${join(dir, 'alertmanager.yml')}`, `--storage.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address=', '--log.level=warn',
  ], options.logDir);
  const stop = async () => {
    await stopProcess(process);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor('alertmanager ready', async () => (await fetch(`${url}/-/ready`)).ok, { timeoutMs: 30_000, watch: [process] });
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, logFile: process.logFile, process, stop };
}
