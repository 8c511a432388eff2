// `make integration`: the integration projects of vitest.config.ts on one local control plane, in
// lanes, each a vitest process (vitest runs the projects of one process one file at a time). The
// two lanes whose controllers follow istiod run one after the other, beside the third; the
// cluster-wide files run alone, last. Each lane's controllers reconcile only the Rollouts labelled
// with it (SWITCHBOARD_TEST_LANE, test/integration/support/lane.ts). The first two do not run side
// by side because their proxies would see each other's routes and endpoints (istiod pushes every
// namespace's changes to every proxy, and the slow proxies of data-plane-sync then never catch up).
// Arguments are passed to each vitest (file filters, -t).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from './binaries.ts';
import { startInBackground, stopInBackground } from './cli.ts';
import { killRememberedProcesses } from './processes.ts';

const stateDir = process.env.SWITCHBOARD_TEST_CLUSTER_DIR ?? join(PROJECT_ROOT, '.cluster-test');
const registry = join(stateDir, 'test-processes.pids');

interface Lane { project: string; code: number; output: string }

function runLane(project: string, live: boolean, lane?: string): Promise<Lane> {
  const args = ['node_modules/vitest/vitest.mjs', 'run', '--project', project, '--passWithNoTests', ...process.argv.slice(2)];
  const attach = local ? { SWITCHBOARD_TEST_CLUSTER_ATTACH: '1', SWITCHBOARD_TEST_CLUSTER_DIR: stateDir, SWITCHBOARD_PID_REGISTRY: registry } : {};
  const env = { ...process.env, ...attach, ...(lane === undefined ? {} : { SWITCHBOARD_TEST_LANE: lane }) };
  const child = spawn(process.execPath, args, { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  // A lane that is not live is printed whole once it ends, so that two lanes' lines do not
  // interleave; every lane's output is kept for the summary of failures at the end.
  const keep = (to: NodeJS.WriteStream) => (chunk: Buffer) => {
    output += chunk.toString();
    if (live) to.write(chunk);
  };
  child.stdout.on('data', keep(process.stdout));
  child.stderr.on('data', keep(process.stderr));
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ project, code: code ?? (signal ? 1 : 0), output })));
}

/**
 * The failed tests of a lane and the first line of each one's error, from vitest's report: a lane
 * runs for minutes, and whoever reads only the end of a log should still see what failed.
 */
function failureLines(output: string, max = 24): string[] {
  // eslint-disable-next-line no-control-regex
  const lines = output.replace(/\u001b\[[0-9;]*m/g, '').split('\n');
  const picked = lines.filter((line) => /^\s*(FAIL\s|(AssertionError|TypeError|Error)\b)/.test(line)).map((line) => line.trim());
  return [...new Set(picked)].slice(0, max);
}

// On another cluster (USE_EXISTING_CLUSTER, k3s) each vitest process finds its own in global-setup.ts.
const local = process.env.USE_EXISTING_CLUSTER !== 'true' && process.env.SWITCHBOARD_TEST_CLUSTER !== 'k3s';

async function main(): Promise<number> {
  if (local) {
    // A previous run that was killed hard: its control plane, and what its tests started.
    await stopInBackground(stateDir);
    killRememberedProcesses(registry);
    await startInBackground(stateDir, process.pid);
  }
  const lanes: Lane[] = [];
  try {
    const side = runLane('integration-c', false, 'c');
    lanes.push(await runLane('integration', true, 'a'));
    lanes.push(await runLane('integration-b', true, 'b'));
    const finished = await side;
    process.stdout.write(`\n--- lane ${finished.project} (ran beside the ones above) ---\n${finished.output}`);
    lanes.push(finished);
    lanes.push(await runLane('integration-cluster-wide', true));
  } finally {
    if (local) {
      killRememberedProcesses(registry);
      await stopInBackground(stateDir);
    }
  }
  const failed = lanes.filter((lane) => lane.code !== 0);
  for (const lane of failed) {
    console.error(`integration lane ${lane.project} failed (exit code ${lane.code})`);
    for (const line of failureLines(lane.output)) console.error(`  ${line}`);
  }
  return failed.length === 0 ? 0 : 1;
}

process.exitCode = await main();
