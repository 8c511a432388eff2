import { describe, expect, it } from 'vitest';
import type { AnalysisRound } from '../../../src/analysis/types.ts';
import { AnalysisRunner } from '../../../src/controller/analysis-runner.ts';

function deferred(): { promise: Promise<AnalysisRound>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<AnalysisRound>((r) => { resolve = () => r({ canaryRevision: 'r', stepIndex: 0, at: '', verdict: 'pass', checks: [] }); });
  return { promise, resolve };
}

const subject = { canaryRevision: 'r', stepIndex: 0 };
const tick = () => new Promise((r) => setImmediate(r));

describe('AnalysisRunner', () => {
  it('runs at most `limit` rounds at once, one per key, and reports each when done', async () => {
    const runner = new AnalysisRunner(2);
    const hanging = deferred();
    const quick = deferred();
    const third = deferred();
    const done: string[] = [];
    runner.start('ns/hangs', subject, () => hanging.promise, () => done.push('hangs'), () => undefined);
    runner.start('ns/hangs', subject, () => Promise.reject(new Error('never started')), () => done.push('twice'), () => done.push('twice'));
    runner.start('ns/quick', subject, () => quick.promise, () => done.push('quick'), () => undefined);
    runner.start('ns/third', subject, () => third.promise, () => done.push('third'), () => undefined);
    expect(runner.running).toBe(2);
    expect(runner.isRunning('ns/third')).toBe(true);
    quick.resolve();
    await tick();
    // The hanging round holds one slot; the other rollouts go on through the free one.
    expect(done).toEqual(['quick']);
    expect(runner.running).toBe(2);
    third.resolve();
    await tick();
    expect(done).toEqual(['quick', 'third']);
    expect(runner.isRunning('ns/hangs')).toBe(true);
    hanging.resolve();
    await tick();
    expect(done).toEqual(['quick', 'third', 'hangs']);
    expect(runner.running).toBe(0);
  });

  it('cancels a round that may no longer count: its signal aborts and its result is dropped', async () => {
    const runner = new AnalysisRunner(1);
    const first = deferred();
    const seen: AbortSignal[] = [];
    const done: string[] = [];
    runner.start('ns/a', subject, (signal) => { seen.push(signal); return first.promise; }, () => done.push('a'), () => undefined);
    let queuedStarted = false;
    runner.start('ns/b', { canaryRevision: 'r', stepIndex: 3 }, () => { queuedStarted = true; return Promise.reject(new Error('started')); }, () => done.push('b'), () => done.push('b failed'));
    // Still at its step: kept.
    runner.cancelUnless('ns/a', (planned) => planned.stepIndex === 0, 'moved on');
    expect(seen[0]!.aborted).toBe(false);
    runner.cancelUnless('ns/a', (planned) => planned.stepIndex === 1, 'moved on');
    expect(seen[0]!.aborted).toBe(true);
    expect(seen[0]!.reason).toBe('moved on');
    // Cancelled while queued: never started.
    runner.cancelUnless('ns/b', () => false, 'aborted');
    first.resolve();
    await tick();
    await tick();
    expect(done).toEqual([]);
    expect(queuedStarted).toBe(false);
    expect(runner.isRunning('ns/a') || runner.isRunning('ns/b')).toBe(false);
    expect(runner.running).toBe(0);
  });

  it('cancelAll ends every round in flight with the reason given', async () => {
    const runner = new AnalysisRunner(2);
    const reasons: unknown[] = [];
    const hold = deferred();
    for (const key of ['ns/a', 'ns/b']) runner.start(key, subject, (signal) => { signal.addEventListener('abort', () => reasons.push(signal.reason)); return hold.promise; }, () => reasons.push('done'), () => undefined);
    runner.cancelAll('handed over');
    hold.resolve();
    await tick();
    expect(reasons).toEqual(['handed over', 'handed over']);
    expect(runner.running).toBe(0);
  });
});
