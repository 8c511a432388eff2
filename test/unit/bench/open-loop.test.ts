import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { driveOpenLoop, httpSender, realClock, scheduledTime, summarizeOpenLoop, type Clock, type OpenLoopSample } from '../../../bench/open-loop.ts';

/** Virtual time: nothing happens until every pending callback has run, then time jumps to the next timer. */
class VirtualClock implements Clock {
  private current = 0;
  private timers: Array<{ at: number; resolve: () => void }> = [];
  private readonly wakeLateBy: (atMs: number) => number;
  constructor(wakeLateBy: (atMs: number) => number = () => 0) {
    this.wakeLateBy = wakeLateBy;
  }

  now(): number {
    return this.current;
  }

  waitUntil(atMs: number): Promise<void> {
    if (atMs <= this.current) return Promise.resolve();
    return new Promise((resolve) => this.timers.push({ at: atMs + this.wakeLateBy(atMs), resolve }));
  }

  /** Only for the simulated server: answers are never late. */
  answerAt(atMs: number): Promise<void> {
    return atMs <= this.current ? Promise.resolve() : new Promise((resolve) => this.timers.push({ at: atMs, resolve }));
  }

  async run<T>(work: Promise<T>): Promise<T> {
    let settled = false;
    work.then(() => (settled = true), () => (settled = true));
    for (;;) {
      await new Promise((resolve) => setImmediate(resolve));
      if (settled) return work;
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers.shift();
      if (!next) throw new Error('nothing is scheduled and the run has not finished');
      this.current = Math.max(this.current, next.at);
      next.resolve();
    }
  }
}

/** One worker serving requests in arrival order, which takes no requests between stallFromMs and stallFromMs + stallMs. */
function simulatedServer(clock: VirtualClock, options: { serviceMs: number; stallFromMs?: number; stallMs?: number }): () => Promise<boolean> {
  const { serviceMs, stallFromMs = Infinity, stallMs = 0 } = options;
  let freeAt = 0;
  return async () => {
    let start = Math.max(clock.now(), freeAt);
    if (start >= stallFromMs && start < stallFromMs + stallMs) start = stallFromMs + stallMs;
    freeAt = start + serviceMs;
    await clock.answerAt(freeAt);
    return true;
  };
}

/** What the open loop replaces: each connection sends its next request when the previous one is answered. */
async function closedLoop(clock: VirtualClock, connections: number, durationMs: number, send: () => Promise<boolean>): Promise<number[]> {
  const latencies: number[] = [];
  const connection = async () => {
    while (clock.now() < durationMs) {
      const sent = clock.now();
      await send();
      latencies.push(clock.now() - sent);
    }
  };
  await Promise.all(Array.from({ length: connections }, connection));
  return latencies;
}

describe('the open-loop schedule', () => {
  it('sends on the timetable and measures from it', async () => {
    const clock = new VirtualClock();
    const samples = await clock.run(driveOpenLoop({ rate: 1000, durationMs: 50, clock, send: simulatedServer(clock, { serviceMs: 0.25 }) }));
    expect(samples.map((s) => s.scheduledMs)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(samples.every((s) => s.sentMs === s.scheduledMs)).toBe(true);
    expect(samples.map((s) => s.doneMs - s.scheduledMs)).toEqual(Array.from({ length: 50 }, () => 0.25));
    expect(summarizeOpenLoop(samples)).toMatchObject({ requests: 50, errors: 0, lateSends: 0, maxSendLagMs: 0, p50: 0.25, max: 0.25 });
  });

  it('computes due times without drift', () => {
    expect(scheduledTime(1000, 3, 400)).toBe(1007.5);
    expect(scheduledTime(0, 999_999, 1000)).toBe(999_999);
  });

  it('charges a stall to every request scheduled during it, where a closed loop sees only the requests in flight', async () => {
    const rate = 1000;
    const stallMs = 100;
    const server = { serviceMs: 0.1, stallFromMs: 400, stallMs };
    const open = new VirtualClock();
    const samples = await open.run(driveOpenLoop({ rate, durationMs: 1000, clock: open, send: simulatedServer(open, server) }));
    const openLatencies = samples.map((s) => s.doneMs - s.scheduledMs);
    const closed = new VirtualClock();
    const closedLatencies = await closed.run(closedLoop(closed, 4, 1000, simulatedServer(closed, server)));

    const queuedBehindStall = (latencies: number[]) => latencies.filter((latency) => latency >= stallMs / 2).length;
    expect(queuedBehindStall(openLatencies)).toBeGreaterThanOrEqual((rate * stallMs) / 1000 / 2);
    expect(queuedBehindStall(closedLatencies)).toBeLessThanOrEqual(4);
    const summary = summarizeOpenLoop(samples);
    expect(summary.p99).toBeGreaterThanOrEqual(stallMs / 2);
    expect(summary.max).toBeGreaterThanOrEqual(stallMs);
    expect(summary.p50).toBeLessThan(1);
    expect(summary.lateSends).toBe(0);
  });

  it('sends what fell due while its timer was late, counts those sends as late and keeps their lateness in the latencies', async () => {
    const clock = new VirtualClock((atMs) => (atMs === 200 ? 10 : 0));
    const samples = await clock.run(driveOpenLoop({ rate: 1000, durationMs: 300, clock, send: simulatedServer(clock, { serviceMs: 0 }) }));
    expect(samples).toHaveLength(300);
    const caughtUp = samples.filter((s) => s.scheduledMs >= 200 && s.scheduledMs <= 210);
    expect(caughtUp.every((s) => s.sentMs === 210)).toBe(true);
    const summary = summarizeOpenLoop(samples);
    expect(summary.maxSendLagMs).toBe(10);
    expect(summary.lateSends).toBe(9); // lags of 10 down to 2 ms; 1 ms is within the threshold
    expect(summary.max).toBe(10);
  });

  it('refuses a rate that is not a positive number', async () => {
    const clock = new VirtualClock();
    await expect(driveOpenLoop({ rate: 0, durationMs: 10, clock, send: async () => true })).rejects.toThrow(/positive number of requests per second/);
  });
});

describe('the open-loop summary', () => {
  const sample = (scheduledMs: number, latency: number, ok = true, lag = 0): OpenLoopSample => ({ scheduledMs, sentMs: scheduledMs + lag, doneMs: scheduledMs + latency, ok });

  it('reports percentiles of the successful answers, errors, late sends and the achieved rate', () => {
    const samples = [...Array.from({ length: 99 }, (_, i) => sample(i * 10, 1 + (i % 3))), sample(990, 10, true, 3), sample(1000, 500, false)];
    const summary = summarizeOpenLoop(samples);
    expect(summary).toMatchObject({ requests: 101, errors: 1, lateSends: 1, maxSendLagMs: 3, p50: 2, max: 10 });
    expect(summary.p99).toBe(10);
    // 100 successes between the first scheduled send (0 ms) and the last answer (1,500 ms).
    expect(summary.achievedRate).toBeCloseTo(100 / 1.5, 6);
  });
});

describe('the open loop against a real server that stalls', () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  it('shows the queue behind the stall in the tail', async () => {
    const rate = 200;
    const stallMs = 300;
    let arrivals = 0;
    let stalledUntil = 0;
    server = createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        arrivals += 1;
        if (arrivals === 50) stalledUntil = Date.now() + stallMs;
        const hold = stalledUntil - Date.now();
        // Held rather than busy-waited, so the generator in this process keeps its timetable.
        setTimeout(() => response.end('{}'), Math.max(0, hold));
      });
    });
    const port = await new Promise<number>((resolve) => server!.listen(0, '127.0.0.1', () => resolve((server!.address() as { port: number }).port)));
    const connections = 16;
    const sender = httpSender({ url: `http://127.0.0.1:${port}/`, body: '{}', connections });
    const samples = await driveOpenLoop({ rate, durationMs: 1000, clock: realClock, send: sender.send }).finally(sender.close);
    expect(samples).toHaveLength(rate);
    expect(samples.every((s) => s.ok)).toBe(true);
    // Every request scheduled in the stall's first half waits at least stall/2, however slow the
    // machine (slack of 2 for the order in which the pool's connections deliver them); a closed
    // loop over 16 connections could show at most 16 such requests.
    const scheduledInFirstHalf = (rate * stallMs) / 1000 / 2;
    expect(scheduledInFirstHalf - 2).toBeGreaterThan(connections);
    const queuedBehindStall = samples.filter((s) => s.doneMs - s.scheduledMs >= stallMs / 2).length;
    expect(queuedBehindStall).toBeGreaterThanOrEqual(scheduledInFirstHalf - 2);
    expect(summarizeOpenLoop(samples).p90).toBeGreaterThanOrEqual(stallMs / 2);
  }, 20_000);

  it('abandons requests a server never answers and counts them as errors', async () => {
    server = createServer((request) => request.resume());
    const port = await new Promise<number>((resolve) => server!.listen(0, '127.0.0.1', () => resolve((server!.address() as { port: number }).port)));
    const sender = httpSender({ url: `http://127.0.0.1:${port}/`, body: '{}', connections: 4, timeoutMs: 200 });
    const samples = await driveOpenLoop({ rate: 50, durationMs: 200, clock: realClock, send: sender.send }).finally(sender.close);
    expect(samples).toHaveLength(10);
    expect(summarizeOpenLoop(samples)).toMatchObject({ requests: 10, errors: 10 });
  }, 20_000);
});
