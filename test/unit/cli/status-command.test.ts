// `switchboard status NAME -o json|yaml`, once and with --watch, wired to a stand-in for the API
// whose reads play a rollout's progress; the 2 s polls run on fake timers. The real API server's
// side is in test/integration/cli.test.ts.
import { Command } from 'commander';
import { parseAllDocuments } from 'yaml';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { RolloutApi, TrackDeployments } from '../../../src/cli/rollouts/rollout-api.ts';
import { rolloutStatusView, type RolloutStatusView } from '../../../src/cli/rollouts/rollout-view.ts';
import { CLI_ERROR, CliError } from '../../../src/cli/rollout-errors.ts';
import type { Rollout, RolloutPhase } from '../../../src/rollout/types.ts';
import { at, rollout } from '../rollout/fixtures.ts';
import { BOTH_DEPLOYMENTS, PAUSED, PAUSED_STATUS } from './status-fixtures.ts';

/** What each read returns, in turn; the last one again once they run out. An Error is thrown. */
let reads: Array<Rollout | Error>;
let readCount: number;

const fakeApi = {
  namespace: 'production',
  readRollout: async () => {
    const next = reads[Math.min(readCount++, reads.length - 1)]!;
    if (next instanceof Error) throw next;
    return next;
  },
  readDeployments: async (): Promise<TrackDeployments> => BOTH_DEPLOYMENTS,
} as unknown as RolloutApi;

vi.mock('../../../src/cli/rollouts/rollout-connect.ts', () => ({ connectRollouts: async () => fakeApi }));
const { registerRolloutCommands } = await import('../../../src/cli/rollouts/rollout-commands.ts');

/** PAUSED at a later resourceVersion, in another phase (the controller has seen the spec). */
function inPhase(phase: RolloutPhase, resourceVersion: string, canaryWeight: number): Rollout {
  return { ...PAUSED, metadata: { ...PAUSED.metadata, resourceVersion }, status: { ...PAUSED_STATUS, phase, canaryWeight } };
}

interface Run { writes: string[]; stdout: string; stderr: string; error: unknown }

async function status(...args: string[]): Promise<Run> {
  const writes: string[] = [];
  const stderr: string[] = [];
  const program = new Command('switchboard').exitOverride();
  // The fake timers move the clock too, so that --timeout runs out as it would.
  registerRolloutCommands(program, { stdout: (text) => writes.push(text), stderr: (text) => stderr.push(text) }, () => new Date());
  let settled = false;
  const running = program.parseAsync(['status', 'payment-service', ...args], { from: 'user' })
    .then(() => undefined, (e: unknown) => e)
    .finally(() => { settled = true; });
  // Each poll sleeps 2 s: run the timers until the command ends.
  for (let turns = 0; !settled && turns < 100; turns++) await vi.advanceTimersByTimeAsync(2_000);
  const error = await running;
  return { writes, stdout: writes.join(''), stderr: stderr.join(''), error };
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(at(30));
  reads = [PAUSED];
  readCount = 0;
});
afterEach(() => { vi.useRealTimers(); });

describe('status -o json|yaml', () => {
  it('prints the RolloutStatus view, not the Rollout', async () => {
    const { stdout, stderr, error } = await status('-o', 'json');
    expect(error).toBeUndefined();
    expect(stderr).toBe('');
    expect(JSON.parse(stdout)).toEqual(rolloutStatusView(PAUSED, BOTH_DEPLOYMENTS));
    expect(stdout).toMatch(/^\{\n {2}"apiVersion": "cli\.switchboard\.dev\/v1",\n {2}"kind": "RolloutStatus",\n/);
  });

  it('prints the same object as YAML', async () => {
    const { stdout } = await status('-o', 'yaml');
    expect(parseAllDocuments(stdout).map((document) => document.toJS())).toEqual([rolloutStatusView(PAUSED, BOTH_DEPLOYMENTS)]);
  });

  it('answers `jq .canaryWeight` with the weight', async () => {
    expect((JSON.parse((await status('-o', 'json')).stdout) as RolloutStatusView).canaryWeight).toBe(5);
  });
});

describe('status --watch -o json (NDJSON)', () => {
  it('prints one line per change, each a whole JSON object written at once, until the rollout settles', async () => {
    reads = [PAUSED, PAUSED, inPhase('Progressing', '101', 25), inPhase('Progressing', '101', 25), inPhase('Healthy', '102', 0)];
    const { writes, stderr, error } = await status('--watch', '-o', 'json');
    expect(error).toBeUndefined();
    expect(stderr).toBe('');
    expect(writes.every((write) => write.endsWith('\n') && write.indexOf('\n') === write.length - 1)).toBe(true);
    const lines = writes.map((write) => JSON.parse(write) as RolloutStatusView);
    expect(lines.map((line) => [line.kind, line.phase, line.canaryWeight])).toEqual([
      ['RolloutStatus', 'Paused', 5], ['RolloutStatus', 'Progressing', 25], ['RolloutStatus', 'Healthy', 0],
    ]);
    expect(lines[0]).toEqual(rolloutStatusView(PAUSED, BOTH_DEPLOYMENTS));
  });

  it('keeps stdout to JSON lines when the rollout fails: the error is the command\'s, for stderr', async () => {
    reads = [PAUSED, { ...inPhase('RolledBack', '101', 0), status: { ...PAUSED_STATUS, phase: 'RolledBack', message: 'error-rate 7% > 1%' } }];
    const { writes, error } = await status('-w', '-o', 'json');
    expect((error as CliError).code).toBe(CLI_ERROR.rolloutFailed);
    expect((error as Error).message).toBe('SB_CLI_ROLLOUT_FAILED: rollout "payment-service" in namespace "production" ended RolledBack: error-rate 7% > 1%');
    expect(writes.map((write) => (JSON.parse(write) as RolloutStatusView).phase)).toEqual(['Paused', 'RolledBack']);
  });

  it('writes a failed read\'s warning to stderr and goes on with the lines', async () => {
    reads = [PAUSED, new CliError(CLI_ERROR.api, 'reading rollout "payment-service" failed: connect ECONNREFUSED'), inPhase('Healthy', '102', 0)];
    const { writes, stderr, error } = await status('--watch', '-o', 'json');
    expect(error).toBeUndefined();
    expect(stderr).toBe('warning: SB_CLI_API: reading rollout "payment-service" failed: connect ECONNREFUSED; still watching\n');
    expect(writes.map((write) => (JSON.parse(write) as RolloutStatusView).phase)).toEqual(['Paused', 'Healthy']);
  });

  it('ends at --timeout (which implies --watch) with the lines so far on stdout and the timeout on the error', async () => {
    const { writes, error } = await status('--timeout', '5s', '-o', 'json');
    expect((error as CliError).code).toBe(CLI_ERROR.timeout);
    expect(writes.map((write) => (JSON.parse(write) as RolloutStatusView).phase)).toEqual(['Paused']);
  });

  it('-o yaml prints YAML documents separated by ---', async () => {
    reads = [PAUSED, inPhase('Healthy', '102', 0)];
    const { stdout } = await status('--watch', '-o', 'yaml');
    expect(stdout).toContain('\n---\napiVersion: cli.switchboard.dev/v1\n');
    expect(parseAllDocuments(stdout).map((document) => (document.toJS() as RolloutStatusView).phase)).toEqual(['Paused', 'Healthy']);
  });

  it('without -o, still prints the readable view, blank-line apart', async () => {
    reads = [PAUSED, inPhase('Healthy', '102', 0)];
    const { stdout } = await status('--watch');
    expect(stdout.match(/^Phase:\s+\w+$/gm)).toEqual(['Phase:          Paused', 'Phase:          Healthy']);
    expect(stdout).toContain('\n\nName:           payment-service\n');
  });
});

describe('status with a rollout the controller has not seen', () => {
  it('prints the fewest fields, none of them null', async () => {
    reads = [rollout()];
    const view = JSON.parse((await status('-o', 'json')).stdout) as RolloutStatusView;
    expect(view).not.toHaveProperty('phase');
    expect(view.specObserved).toBe(false);
    expect(JSON.stringify(view)).not.toContain('null');
  });
});
