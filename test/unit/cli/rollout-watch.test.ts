import { describe, expect, it } from 'vitest';
import { CLI_ERROR, CliError } from '../../../src/cli/rollout-errors.ts';
import { settledExitCode, watchFailure, watchRollout, type RolloutSnapshot } from '../../../src/cli/rollouts/rollout-watch.ts';
import type { RolloutPhase } from '../../../src/rollout/types.ts';
import { rollout } from '../rollout/fixtures.ts';

const inPhase = (phase: RolloutPhase | undefined, resourceVersion: string, observedGeneration = 1): RolloutSnapshot => ({
  rollout: rollout({ metadata: { resourceVersion, generation: 1 }, status: phase === undefined ? {} : { phase, observedGeneration } }),
  deployments: { stable: undefined, canary: undefined },
});

describe('settledExitCode', () => {
  it.each([
    ['Healthy', 1, 0],
    ['RolledBack', 1, 1],
    ['Aborted', 1, 1],
    ['Invalid', 1, 1],
    ['Progressing', 1, undefined],
    ['Paused', 1, undefined],
    ['Promoting', 1, undefined],
    ['Degraded', 1, 1],
    ['Inconclusive', 1, 1],
    // Right after a template change the status still speaks of the previous generation.
    ['Healthy', 0, undefined],
    ['Aborted', 0, undefined],
  ] as [RolloutPhase, number, 0 | 1 | undefined][])('%s seen at generation %d of 1: %s', (phase, observedGeneration, expected) => {
    expect(settledExitCode(inPhase(phase, '1', observedGeneration).rollout)).toBe(expected);
  });

  it('is undefined before the controller wrote any status', () => {
    expect(settledExitCode(inPhase(undefined, '1').rollout)).toBeUndefined();
  });
});

/** A fake clock that sleeping advances, and a queue of snapshots (the last one repeats). */
function fakeCluster(snapshots: (RolloutSnapshot | Error)[]) {
  let now = 0;
  const shown: string[] = [];
  const sleeps: number[] = [];
  let reads = 0;
  return {
    shown, sleeps, reads: () => reads,
    deps: {
      read: async () => {
        const next = snapshots[Math.min(reads++, snapshots.length - 1)]!;
        if (next instanceof Error) throw next;
        return next;
      },
      show: (snapshot: RolloutSnapshot) => shown.push(`${snapshot.rollout.status?.phase}@${snapshot.rollout.metadata.resourceVersion}`),
      sleep: async (ms: number) => { sleeps.push(ms); now += ms; },
      now: () => now,
    },
  };
}

describe('watchRollout', () => {
  it('polls every 2 s, shows each change once, and stops at a settled phase', async () => {
    const cluster = fakeCluster([inPhase('Progressing', '1'), inPhase('Progressing', '1'), inPhase('Paused', '2'), inPhase('Healthy', '3')]);
    const outcome = await watchRollout(cluster.deps);
    expect(outcome).toMatchObject({ kind: 'settled', exitCode: 0 });
    expect(cluster.shown).toEqual(['Progressing@1', 'Paused@2', 'Healthy@3']);
    expect(cluster.sleeps).toEqual([2000, 2000, 2000]);
  });

  it('ends with exit code 1 on a rollback', async () => {
    const outcome = await watchRollout(fakeCluster([inPhase('Progressing', '1'), inPhase('RolledBack', '2')]).deps);
    expect(outcome).toMatchObject({ kind: 'settled', exitCode: 1 });
  });

  it('gives up at the timeout, sleeping no longer than what is left', async () => {
    const cluster = fakeCluster([inPhase('Progressing', '1')]);
    const outcome = await watchRollout(cluster.deps, 5_000);
    expect(outcome.kind).toBe('timedOut');
    expect(cluster.sleeps).toEqual([2000, 2000, 1000]);
    expect(cluster.reads()).toBe(4);
  });
});

describe('watchRollout when a read fails', () => {
  const blip = new CliError(CLI_ERROR.api, 'reading rollout "payment-service" failed: connect ECONNREFUSED');

  it('keeps watching through failures the caller calls transient', async () => {
    const cluster = fakeCluster([inPhase('Progressing', '1'), blip, blip, inPhase('Healthy', '2')]);
    const failures: unknown[] = [];
    const outcome = await watchRollout({ ...cluster.deps, readFailed: (error) => failures.push(error) > 0 });
    expect(outcome).toMatchObject({ kind: 'settled', exitCode: 0 });
    expect(failures).toEqual([blip, blip]);
  });

  it('stops at any other failure', async () => {
    const gone = new CliError(CLI_ERROR.notFound, 'rollout "payment-service" not found in namespace "production"');
    const cluster = fakeCluster([inPhase('Progressing', '1'), gone]);
    await expect(watchRollout({ ...cluster.deps, readFailed: (error) => error !== gone })).rejects.toBe(gone);
  });

  it('gives up after a minute of failures in a row, without a timeout', async () => {
    const cluster = fakeCluster([inPhase('Progressing', '1'), ...Array.from({ length: 40 }, () => blip)]);
    await expect(watchRollout({ ...cluster.deps, readFailed: () => true })).rejects.toBe(blip);
    // The first read succeeded, then 30 failed reads 2 s apart made the minute.
    expect(cluster.reads()).toBe(32);
  });

  it('still times out when the API server never answers', async () => {
    const outcome = await watchRollout({ ...fakeCluster([blip]).deps, readFailed: () => true }, 3_000);
    expect(outcome).toEqual({ kind: 'timedOut', rollout: undefined });
  });
});

describe('watchFailure', () => {
  const ended = (phase: RolloutPhase, message?: string) => rollout({ status: { phase, ...(message === undefined ? {} : { message }) } });
  it.each([
    ['Healthy', { kind: 'settled', exitCode: 0, rollout: ended('Healthy') }, undefined],
    ['a rollback', { kind: 'settled', exitCode: 1, rollout: ended('RolledBack', 'analysis failed 2 time(s)') },
      'SB_CLI_ROLLOUT_FAILED: rollout "payment-service" in namespace "production" ended RolledBack: analysis failed 2 time(s)'],
    ['a timeout', { kind: 'timedOut', rollout: ended('Paused', 'step 4/5: waiting for promote') },
      'SB_CLI_TIMEOUT: rollout "payment-service" in namespace "production" did not settle within 10m (phase Paused: step 4/5: waiting for promote)'],
    ['a timeout before any read', { kind: 'timedOut', rollout: undefined },
      'SB_CLI_TIMEOUT: rollout "payment-service" in namespace "production" did not settle within 10m (phase unknown)'],
  ] as const)('%s', (_case, outcome, message) => {
    expect(watchFailure(outcome, 'payment-service', 'production', '10m')?.message).toBe(message);
  });
});
