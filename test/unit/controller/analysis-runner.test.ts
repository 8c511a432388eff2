import { describe, expect, it } from 'vitest';
import type { AnalysisRound } from '../../../src/analysis/types.ts';
import { AnalysisRunner } from '../../../src/controller/analysis-runner.ts';

function deferred(): { promise: Promise<AnalysisRound>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<AnalysisRound>((r) => { resolve = () => r({ canaryRevision: 'r', stepIndex: 0, at: '', verdict: 'pass', checks: [] }); });
  return { promise, resolve };
}

describe('AnalysisRunner', () => {
  it('runs at most `limit` rounds at once, one per key, and reports each when done', async () => {
    const runner = new AnalysisRunner(2);
    const hanging = deferred();
    const quick = deferred();
    const third = deferred();
    const done: string[] = [];
    runner.start('ns/hangs', () => hanging.promise, () => done.push('hangs'), () => undefined);
    runner.start('ns/hangs', () => Promise.reject(new Error('never started')), () => done.push('twice'), () => done.push('twice'));
    runner.start('ns/quick', () => quick.promise, () => done.push('quick'), () => undefined);
    runner.start('ns/third', () => third.promise, () => done.push('third'), () => undefined);
    expect(runner.running).toBe(2);
    expect(runner.isRunning('ns/third')).toBe(true);
    quick.resolve();
    await new Promise((r) => setImmediate(r));
    // The hanging round holds one slot; the other rollouts go on through the free one.
    expect(done).toEqual(['quick']);
    expect(runner.running).toBe(2);
    third.resolve();
    await new Promise((r) => setImmediate(r));
    expect(done).toEqual(['quick', 'third']);
    expect(runner.isRunning('ns/hangs')).toBe(true);
    hanging.resolve();
    await new Promise((r) => setImmediate(r));
    expect(done).toEqual(['quick', 'third', 'hangs']);
    expect(runner.running).toBe(0);
  });
});
