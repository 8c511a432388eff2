// A real Prometheus (Debian's package) on a free loopback port, scraping the given targets every
// second, with its data in a temp dir that is removed on stop.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { freePort } from './ports.ts';
import { rememberDirectory, startProcess, stopProcess, waitFor } from './processes.ts';

export interface RunningPrometheus {
  url: string;
  logFile: string;
  /** Its process id, for CPU and memory from /proc. */
  pid: number | undefined;
  /** Adds a scrape target while running (file-based discovery, picked up within a second or two). */
  addTarget(target: string): void;
  stop(): Promise<void>;
}

export function prometheusBinary(): string {
  const explicit = process.env.PROMETHEUS;
  if (explicit) return explicit;
  try {
    return execFileSync('sh', ['-c', 'command -v prometheus'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('prometheus is not installed: run hack/install-prometheus.sh (make test does) or set PROMETHEUS=/path/to/prometheus');
  }
}

export async function startPrometheus(options: { targets: string[]; logDir: string; scrapeIntervalSeconds?: number }): Promise<RunningPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-prometheus-'));
  rememberDirectory(dir);
  mkdirSync(options.logDir, { recursive: true });
  const interval = `${options.scrapeIntervalSeconds ?? 1}s`;
  writeFileSync(join(dir, 'prometheus.yml'), stringify({
    global: { scrape_interval: interval, evaluation_interval: interval },
    scrape_configs: [{ job_name: 'mesh', file_sd_configs: [{ files: [join(dir, 'targets.json')], refresh_interval: '1s' }] }],
  }));
  const targets = [...options.targets];
  const writeTargets = () => writeFileSync(join(dir, 'targets.json'), JSON.stringify([{ targets }]));
  writeTargets();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const process = startProcess('prometheus', prometheusBinary(), [
    `--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn', '--storage.tsdb.retention.time=1h',
  ], options.logDir);
  const stop = async () => {
    await stopProcess(process);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor('prometheus ready', async () => (await fetch(`${url}/-/ready`)).ok, { timeoutMs: 30_000, watch: [process] });
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, logFile: process.logFile, pid: process.child.pid, stop, addTarget: (target) => { targets.push(target); writeTargets(); } };
}
