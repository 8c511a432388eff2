import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TokenBucket } from '../../../src/controller/api-rate-limiter.ts';

describe('TokenBucket', () => {
  beforeEach(() => { vi.useFakeTimers(); });
  afterEach(() => { vi.useRealTimers(); });

  const bucket = (qps: number, burst: number) => new TokenBucket({ qps, burst }, () => Date.now());

  async function granted(b: TokenBucket, count: number): Promise<boolean[]> {
    const done = Array.from({ length: count }, () => false);
    for (let i = 0; i < count; i++) void b.take().then(() => { done[i] = true; });
    await vi.advanceTimersByTimeAsync(0);
    return done;
  }

  it('lets a burst through at once and holds the rest', async () => {
    expect(await granted(bucket(10, 3), 5)).toEqual([true, true, true, false, false]);
  });

  it('releases waiters in arrival order at the sustained rate', async () => {
    const b = bucket(10, 1);
    const order: number[] = [];
    for (let i = 0; i < 4; i++) void b.take().then(() => order.push(i));
    await vi.advanceTimersByTimeAsync(0);
    expect(order).toEqual([0]);
    await vi.advanceTimersByTimeAsync(100);
    expect(order).toEqual([0, 1]);
    await vi.advanceTimersByTimeAsync(200);
    expect(order).toEqual([0, 1, 2, 3]);
  });

  it('serves waiting high-priority requests before low ones (Events), in arrival order within each', async () => {
    const b = bucket(10, 1);
    const order: string[] = [];
    void b.take().then(() => order.push('first'));
    for (const [name, priority] of [['event-1', 'low'], ['write-1', 'high'], ['event-2', 'low'], ['write-2', 'high']] as const) {
      void b.take(priority).then(() => order.push(name));
    }
    await vi.advanceTimersByTimeAsync(0);
    expect(order).toEqual(['first']);
    await vi.advanceTimersByTimeAsync(400);
    expect(order).toEqual(['first', 'write-1', 'write-2', 'event-1', 'event-2']);
  });

  it('refills up to the burst after a quiet spell, not beyond', async () => {
    const b = bucket(10, 2);
    await granted(b, 2);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(await granted(b, 3)).toEqual([true, true, false]);
  });

  it('does not limit when qps is 0', async () => {
    expect((await granted(bucket(0, 1), 50)).every(Boolean)).toBe(true);
  });

  it('refuses a burst below 1', () => {
    expect(() => bucket(10, 0)).toThrow(/burst must be at least 1/);
  });
});
