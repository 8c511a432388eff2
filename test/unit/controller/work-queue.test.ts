import { describe, expect, it, vi } from 'vitest';
import { MAX_TIMER_MS, WorkQueue } from '../../../src/controller/work-queue.ts';

describe('WorkQueue', () => {
  it('keeps one entry per key however often it is added', async () => {
    const queue = new WorkQueue();
    queue.add('ns/a');
    queue.add('ns/a');
    queue.add('ns/b');
    expect(queue.length).toBe(2);
    expect(await queue.get()).toBe('ns/a');
    expect(await queue.get()).toBe('ns/b');
  });

  it('never hands out a key that is being processed; a re-add while processing comes back after done', async () => {
    const queue = new WorkQueue();
    queue.add('ns/a');
    const key = await queue.get();
    queue.add('ns/a');
    expect(queue.length).toBe(0);
    queue.done(key!);
    expect(queue.length).toBe(1);
    expect(await queue.get()).toBe('ns/a');
  });

  it('wakes a waiting worker when a key arrives', async () => {
    const queue = new WorkQueue();
    const next = queue.get();
    queue.add('ns/late');
    expect(await next).toBe('ns/late');
  });

  it('backs off per key on failures and resets after forget', () => {
    const queue = new WorkQueue({ baseRetryDelayMs: 100, maxRetryDelayMs: 1_000 });
    expect([1, 2, 3, 4, 5].map(() => queue.addRateLimited('ns/a'))).toEqual([100, 200, 400, 800, 1_000]);
    expect(queue.addRateLimited('ns/b')).toBe(100);
    queue.forget('ns/a');
    expect(queue.addRateLimited('ns/a')).toBe(100);
    queue.shutDown();
  });

  it('delays adds, keeping the earliest timer for a key', async () => {
    vi.useFakeTimers();
    try {
      const queue = new WorkQueue();
      queue.addAfter('ns/a', 5_000);
      queue.addAfter('ns/a', 1_000);
      queue.addAfter('ns/a', 3_000);
      vi.advanceTimersByTime(999);
      expect(queue.length).toBe(0);
      vi.advanceTimersByTime(1);
      expect(queue.length).toBe(1);
      await queue.get();
      queue.done('ns/a');
      vi.advanceTimersByTime(10_000);
      expect(queue.length).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('a wait longer than setTimeout can hold (pause: 720h) is re-armed, never fired early', () => {
    vi.useFakeTimers();
    try {
      const queue = new WorkQueue();
      const thirtyDays = 30 * 24 * 3_600_000;
      queue.addAfter('ns/long', thirtyDays);
      vi.advanceTimersByTime(MAX_TIMER_MS + 1);
      expect(queue.length).toBe(0);
      vi.advanceTimersByTime(thirtyDays - MAX_TIMER_MS - 2);
      expect(queue.length).toBe(0);
      vi.advanceTimersByTime(1);
      expect(queue.length).toBe(1);
      queue.shutDown();
    } finally {
      vi.useRealTimers();
    }
  });

  it('releases waiting workers on shutdown', async () => {
    const queue = new WorkQueue();
    const next = queue.get();
    queue.shutDown();
    expect(await next).toBeUndefined();
    queue.add('ns/a');
    expect(queue.length).toBe(0);
  });
});
