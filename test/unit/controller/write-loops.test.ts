// The same write, landed again and again within a minute, is a fight with another writer.
import { describe, expect, it } from 'vitest';
import type { Action } from '../../../src/rollout/actions.ts';
import { otherWriter, WriteLoopDetector, writeSignature } from '../../../src/controller/write-loops.ts';

function weights(from: number, to: number): Action {
  return {
    kind: 'setWeights', reason: 'WeightChanged', message: 'm', virtualService: 'vs', canaryWeight: to,
    patch: [{ op: 'test', path: '/spec/http/1/route/1/weight', value: from }, { op: 'replace', path: '/spec/http/1/route/1/weight', value: to }],
  };
}

describe('write loops', () => {
  it('writes that differ only in what they replaced have one signature; other targets or values another', () => {
    expect(writeSignature(weights(0, 20))).toBe(writeSignature(weights(40, 20)));
    expect(writeSignature(weights(0, 20))).not.toBe(writeSignature(weights(0, 40)));
    expect(writeSignature({ kind: 'wait', reason: 'r', message: 'm' })).toBeUndefined();
    expect(writeSignature({ kind: 'updateStatus', reason: 'r', message: 'm', status: {} })).toBeUndefined();
  });

  it('the fourth identical write within the window would make a loop; spread out, or different, it would not', () => {
    const detector = new WriteLoopDetector(4, 60_000);
    const same = writeSignature(weights(0, 20))!;
    for (const t of [0, 1_000, 2_000]) {
      expect(detector.wouldLoop('ns/a', same, t)).toBe(false);
      detector.record('ns/a', same, t);
    }
    expect(detector.wouldLoop('ns/b', same, 2_500)).toBe(false);
    expect(detector.wouldLoop('ns/a', same, 3_000)).toBe(true);
    expect(detector.count('ns/a', same, 3_000)).toBe(3);
    expect(detector.wouldLoop('ns/a', same, 60_500)).toBe(false);

    const steady = new WriteLoopDetector(4, 60_000);
    for (const t of [0, 30_000, 61_000]) steady.record('ns/a', same, t);
    expect(steady.wouldLoop('ns/a', same, 92_000)).toBe(false);
    const progressing = new WriteLoopDetector(4, 60_000);
    [5, 25, 50].forEach((w, i) => progressing.record('ns/a', writeSignature(weights(0, w))!, i));
    expect(progressing.wouldLoop('ns/a', writeSignature(weights(0, 100))!, 4)).toBe(false);

    // Releases in quick succession: back to stable, a new canary, back to stable, ... each its own write.
    const releases = new WriteLoopDetector(4, 60_000);
    const [back, canary] = [writeSignature(weights(50, 0))!, writeSignature(weights(0, 50))!];
    [back, canary, back, canary, back, canary].forEach((signature, i) => releases.record('ns/a', signature, i * 1_000));
    expect(releases.wouldLoop('ns/a', back, 7_000)).toBe(false);
  });

  it('names the last other manager that wrote spec or annotations', () => {
    expect(otherWriter([
      { manager: 'switchboard', operation: 'Update', time: '2026-01-01T00:00:09Z', fieldsV1: { 'f:spec': {} } },
      { manager: 'kubectl-client-side-apply', operation: 'Update', time: '2026-01-01T00:00:01Z', fieldsV1: { 'f:spec': {} } },
      { manager: 'argocd-controller', operation: 'Apply', time: '2026-01-01T00:00:05Z', fieldsV1: { 'f:spec': {} } },
      { manager: 'pilot-discovery', operation: 'Update', time: '2026-01-01T00:00:08Z', fieldsV1: { 'f:status': {} } },
    ], 'switchboard')).toBe('argocd-controller');
    expect(otherWriter([{ manager: 'switchboard', fieldsV1: { 'f:spec': {} } }], 'switchboard')).toBeUndefined();
    expect(otherWriter(undefined, 'switchboard')).toBeUndefined();
  });
});
